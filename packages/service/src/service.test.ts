import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, createRegistry, opsRoutes } from "./index.ts";

describe("createLogger", () => {
  it("never writes tokens, authorization headers or passwords", () => {
    let out = "";
    const sink = new Writable({
      write(chunk, _enc, done) {
        out += chunk;
        done();
      },
    });
    const logger = createLogger("info", "test", sink);
    logger.info(
      { req: { headers: { authorization: "Bearer s3cret-token" } }, token: "s3cret-token" },
      "request",
    );
    logger.info({ config: { API_TOKENS: '[{"sha256":"abc"}]', password: "hunter2" } }, "config");
    expect(out).not.toContain("s3cret-token");
    expect(out).not.toContain("hunter2");
    expect(out).not.toContain("abc");
    expect(out).toContain("[redacted]");
  });
});

describe("opsRoutes", () => {
  it("answers health, readiness with Retry-After, and Prometheus metrics", async () => {
    let ready = true;
    let stopping = false;
    let live: string | undefined;
    const app = opsRoutes(createRegistry(), {
      live: () => live,
      ready: {
        redis: async () => {
          if (!ready) throw new Error("connect ECONNREFUSED redis://:hunter2@10.1.2.3:6379");
        },
        mongodb: async () => {},
      },
      stopping: () => stopping,
    });
    expect((await app.request("/healthz")).status).toBe(200);
    expect((await app.request("/readyz")).status).toBe(200);
    ready = false;
    live = "no poll for 300 s";
    const notReady = await app.request("/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get("retry-after")).toBe("5");
    expect(await notReady.json()).toEqual({ status: "not ready", reason: "not answering: redis" });
    ready = true;
    stopping = true;
    expect(await (await app.request("/readyz")).json()).toEqual({
      status: "not ready",
      reason: "shutting down",
    });
    expect(await (await app.request("/healthz")).json()).toEqual({
      status: "unhealthy",
      reason: "no poll for 300 s",
    });
    const metrics = await app.request("/metrics");
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    const text = await metrics.text();
    expect(text).toContain("\nprocess_cpu_seconds_total ");
    expect(text).toContain("\nnodejs_eventloop_lag_seconds ");
  });
});
