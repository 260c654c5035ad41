// The built archiver (dist/main.js) as a process, configured by the environment alone.
import { fileURLToPath } from "node:url";
import { exited, freePort, spawnNode, test, waitFor } from "@gsk/testing";
import { describe, expect } from "vitest";
import { ADMIN_TOKEN, archiverEnv, resetArchive } from "./test-support.ts";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

describe("archiver process", () => {
  test("starts not ready while MongoDB is down, becomes ready when it returns, stops cleanly on SIGTERM", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const port = await freePort();
    await mongo.cut();
    const { child, stdout } = spawnNode(
      MAIN,
      [],
      archiverEnv([redis.url], mongo, { PORT: String(port), LOG_LEVEL: "info" }),
    );
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, "listening", 15_000);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    await mongo.restore();
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, "ready", 20_000, 200).catch(async (e) => {
      throw new Error(`${e.message}: ${await (await fetch(`${base}/readyz`)).text()}`);
    });
    const board = await fetch(`${base}/admin/queues`, {
      headers: { Authorization: `Basic ${Buffer.from(`me:${ADMIN_TOKEN}`).toString("base64")}` },
    });
    expect(board.status).toBe(200);
    child.kill("SIGTERM");
    await exited(child);
    expect(child.exitCode).toBe(0);
    expect(stdout()).toContain("bull-board");
    expect(stdout()).toContain('"msg":"stopped"');
    expect(stdout()).not.toContain(ADMIN_TOKEN);
  });

  test("Redis down at boot: health answers, readiness names Redis, SIGTERM stops it", async ({ mongo }) => {
    await resetArchive(mongo);
    const port = await freePort();
    const redisPort = await freePort();
    const { child, stdout, output } = spawnNode(
      MAIN,
      [],
      archiverEnv([`redis://127.0.0.1:${redisPort}`], mongo, { PORT: String(port), LOG_LEVEL: "info" }),
    );
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, "health answers", 15_000);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "not ready", reason: "not answering: redis" });
    child.kill("SIGTERM");
    await exited(child);
    expect(child.exitCode, output()).toBe(0);
    expect(stdout()).toContain('"msg":"stopped"');
  });
});
