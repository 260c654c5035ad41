// The built archiver (dist/main.js) as a process, configured by the environment alone.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { exited, freePort, reapOnExit, test, waitFor } from "@gsk/testing";
import { describe, expect, onTestFinished } from "vitest";
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
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        ...archiverEnv([redis.url], mongo, { PORT: String(port), LOG_LEVEL: "info" }),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    reapOnExit(child);
    onTestFinished(() => {
      child.kill("SIGKILL");
    });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
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
    expect(output).toContain("bull-board");
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toContain(ADMIN_TOKEN);
  });
});
