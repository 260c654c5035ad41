import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  connectionAuthenticator,
  createAuthenticator,
  createLogger,
  createRegistry,
  hotCounter,
  hotHistogram,
  inSpan,
  opsRoutes,
} from "./index.ts";

describe("hotCounter and hotHistogram", () => {
  /** Each sample line of a scrape, by series, with its value (label order aside). */
  const samples = (text: string) =>
    new Map(
      text
        .split("\n")
        .filter((line) => line && !line.startsWith("#"))
        .map((line) => {
          const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
          if (!m) throw new Error(`not a sample line: ${line}`);
          const labels = (m[2] ?? "").split(",").filter(Boolean).sort().join(",");
          return [`${m[1]}{${labels}}`, Number(m[3])] as const;
        }),
    );

  it("scrape exactly as prom-client's Counter and Histogram given the same events", async () => {
    const [hot, reference] = [new Registry(), new Registry()];
    const config = { name: "t_requests_total", help: "Requests", labelNames: ["route", "status"] as const };
    const buckets = [0.001, 0.01, 0.1, 1];
    const histogram = { name: "t_seconds", help: "Latency", labelNames: ["route"] as const, buckets };
    const counter = hotCounter(hot, config);
    const latency = hotHistogram(hot, histogram);
    const refCounter = new Counter({ ...config, labelNames: [...config.labelNames], registers: [reference] });
    const refLatency = new Histogram({ ...histogram, labelNames: ["route"], registers: [reference] });
    const events: [string, string, number][] = [
      ["/a", "200", 0.0004],
      ["/a", "200", 0.001], // on a bucket's bound: counted in that bucket
      ["/a", "500", 0.05],
      ["/b", "200", 3], // beyond the last bound: +Inf only
      ["/a", "200", 0.2],
    ];
    for (const [route, status, seconds] of events) {
      counter.series({ route, status }).inc();
      latency.series({ route }).observe(seconds);
      refCounter.inc({ route, status });
      refLatency.observe({ route }, seconds);
    }
    const got = samples(await hot.metrics());
    expect(got).toEqual(samples(await reference.metrics()));
    expect(got.get('t_seconds_bucket{le="0.001",route="/a"}')).toBe(2);
    expect(got.get('t_requests_total{route="/a",status="200"}')).toBe(3);
    expect(await hot.metrics()).toContain("# TYPE t_seconds histogram");
    hot.resetMetrics();
    expect(samples(await hot.metrics()).get('t_requests_total{route="/a",status="200"}')).toBe(0);
  });
});

describe("inSpan with tracing off", () => {
  it("gives fn's result, and a throw of fn's as a rejection, never a synchronous throw", async () => {
    expect(
      await inSpan(
        "ok",
        () => ({}),
        async () => 42,
      ),
    ).toBe(42);
    const thrown = inSpan(
      "sync throw",
      () => ({}),
      () => {
        throw new Error("boom");
      },
    );
    await expect(thrown).rejects.toThrow("boom");
  });
});

describe("connectionAuthenticator", () => {
  const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");
  const authenticate = connectionAuthenticator(
    createAuthenticator([
      { id: "reader", sha256: sha256("reader-token-0123"), scopes: ["data:read"], accounts: ["*"] },
      { id: "admin", sha256: sha256("admin-token-01234"), scopes: ["ttl:admin"], accounts: ["a1"] },
    ]),
  );

  it("answers each request on a shared connection by its own header, not the one it remembers", () => {
    // A proxy's keep-alive connection carries several clients' requests in turn.
    const connection = {};
    expect(authenticate(connection, "Bearer reader-token-0123")?.id).toBe("reader");
    expect(authenticate(connection, "Bearer reader-token-0123")?.id).toBe("reader");
    expect(authenticate(connection, "Bearer admin-token-01234")?.id).toBe("admin");
    // Same length as the remembered header, one byte off: unknown, not the remembered principal.
    expect(authenticate(connection, "Bearer admin-token-01235")).toBeUndefined();
    expect(authenticate(connection, "Bearer reader-token-012")).toBeUndefined();
    expect(authenticate(connection, undefined)).toBeUndefined();
    expect(authenticate(connection, "Basic YWRtaW4tdG9rZW4tMDEyMzQ=")).toBeUndefined();
    expect(authenticate(connection, "Bearer admin-token-01234")?.scopes.has("ttl:admin")).toBe(true);
  });

  it("keeps connections apart", () => {
    const [one, two] = [{}, {}];
    expect(authenticate(one, "Bearer reader-token-0123")?.id).toBe("reader");
    expect(authenticate(two, "Bearer nobody-token-0000")).toBeUndefined();
    expect(authenticate(two, "Bearer admin-token-01234")?.id).toBe("admin");
    expect(authenticate(one, "Bearer reader-token-0123")?.id).toBe("reader");
  });
});

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
