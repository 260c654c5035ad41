// The built API (dist/main.js) as a process, configured by the environment alone.
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { exited, freePort, spawnNode, test, waitFor } from "@gsk/testing";
import { describe, expect } from "vitest";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

const run = (env: Record<string, string>) => spawnNode(MAIN, [], env);

describe("get-api process", () => {
  test("starts from the environment, serves, and stops cleanly on SIGTERM", async ({ redis }) => {
    const port = await freePort();
    const token = "process-test-token";
    const sha256 = createHash("sha256").update(token).digest("hex");
    const { child, output } = run({
      REDIS_URL: redis.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      API_TOKENS: JSON.stringify([{ id: "t", sha256, scopes: ["data:read"], accounts: ["*"] }]),
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, "ready");
    expect((await fetch(`${base}/v1/data/k`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(
      404,
    );
    expect((await fetch(`${base}/v1/data/k`)).status).toBe(401);
    child.kill("SIGTERM");
    await exited(child);
    expect(child.exitCode).toBe(0);
    expect(output()).toContain('"msg":"stopped"');
    expect(output()).not.toContain(token);
  });

  test("on SIGTERM readiness fails at once while requests are still served for the drain delay", async ({
    redis,
  }) => {
    const port = await freePort();
    const token = "drain-test-token";
    const sha256 = createHash("sha256").update(token).digest("hex");
    const { child } = run({
      REDIS_URL: redis.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      SHUTDOWN_DRAIN_MS: "1500",
      API_TOKENS: JSON.stringify([{ id: "t", sha256, scopes: ["data:read"], accounts: ["*"] }]),
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, "ready");
    const signalled = performance.now();
    child.kill("SIGTERM");
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 503, "readiness fails", 1000, 20);
    const read = await fetch(`${base}/v1/data/k`, { headers: { Authorization: `Bearer ${token}` } });
    expect(read.status).toBe(404);
    await exited(child);
    expect(child.exitCode).toBe(0);
    expect(performance.now() - signalled).toBeGreaterThanOrEqual(1400);
  });

  test("a bad environment stops it with one message naming every problem", async () => {
    const { child, output } = run({ REDIS_URL: "redis://h:1", INGRESS_ENABLED: "true", PORT: "99999" });
    await exited(child);
    expect(child.exitCode).toBe(2);
    expect(output()).toContain("PORT: must be at most 65535");
    expect(output()).toContain("SQS_QUEUE_URL: is required when INGRESS_ENABLED=true");
  });

  test("tokens are required", async () => {
    const { child, output } = run({ REDIS_URL: "redis://h:1" });
    await exited(child);
    expect(child.exitCode).toBe(2);
    expect(output()).toContain("API_TOKENS: is required (or API_TOKENS_FILE)");
  });
});
