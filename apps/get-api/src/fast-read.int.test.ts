// The node:http fast path for found entries answers exactly as the Hono app does, and leaves
// every other case to it.
import { listen } from "@gsk/service";
import { test } from "@gsk/testing";
import { expect, onTestFinished } from "vitest";
import { createFastRead } from "./fast-read.ts";
import { auth, buildApi, TOKENS } from "./test-support.ts";

const HEADERS = ["etag", "cache-control", "content-type", "www-authenticate", "retry-after"];

test("GET over the fast path answers like the app: 200, 304, 404, 401, 403, 400, request ids, metrics", async ({
  redis,
}) => {
  const { app, put, deps } = await buildApi({ redisUrl: redis.url });
  await put({ webhookKey: "hook-1" }, { n: 1 });
  await put({ webhookKey: "beta-key", accountId: "beta" });
  const server = await listen(app, 0, "127.0.0.1", createFastRead(deps));
  onTestFinished(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;
  const etag = (await app.request("/v1/data/hook-1", { headers: auth(TOKENS.reader) })).headers.get("etag")!;

  const cases: [string, Record<string, string>][] = [
    ["/v1/data/hook-1", auth(TOKENS.reader)],
    ["/v1/data/hook-1", auth(TOKENS.reader, { "If-None-Match": etag })],
    ["/v1/data/hook-1", auth(TOKENS.reader, { "If-None-Match": '"other"' })],
    ["/v1/data/hook-1", auth(TOKENS.reader, { "X-Request-Id": "trace-42" })],
    ["/v1/data/absent", auth(TOKENS.reader)],
    ["/v1/data/beta-key", auth(TOKENS.acme)],
    ["/v1/data/hook-1", {}],
    ["/v1/data/hook-1", auth("not-a-token")],
    ["/v1/data/hook-1", auth(TOKENS.admin)],
    ["/v1/data/bad%20key", auth(TOKENS.reader)],
    ["/v1/data/hook-1?x=1", auth(TOKENS.reader)],
  ];
  for (const [path, headers] of cases) {
    const viaApp = await app.request(path, { headers });
    const viaSocket = await fetch(`${base}${path}`, { headers });
    const what = `${path} ${JSON.stringify(headers)}`;
    expect(viaSocket.status, what).toBe(viaApp.status);
    for (const name of HEADERS)
      expect(viaSocket.headers.get(name), `${what} ${name}`).toBe(viaApp.headers.get(name));
    const text = await viaSocket.text();
    expect(text, what).toBe(await viaApp.text());
    // A found entry is sent with its length (one buffer, no chunked framing).
    if (viaSocket.status === 200) {
      expect(viaSocket.headers.get("content-length"), what).toBe(String(Buffer.byteLength(text)));
      expect(viaApp.headers.get("content-length"), what).toBe(String(Buffer.byteLength(text)));
      expect(viaSocket.headers.get("transfer-encoding"), what).toBeNull();
    }
    if (headers["X-Request-Id"]) expect(viaSocket.headers.get("x-request-id")).toBe("trace-42");
    else expect(viaSocket.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  }
  const metrics = await (await app.request("/metrics")).text();
  // Both paths count under one route: four 200s each way, and the first read for the ETag.
  expect(metrics).toContain(
    'gsk_api_http_requests_total{route="/v1/data/:webhookKey",method="GET",status="200"} 9',
  );
  expect(metrics).toContain(
    'gsk_api_http_requests_total{route="/v1/data/:webhookKey",method="GET",status="304"} 2',
  );
});

test("Redis down: the fast path leaves the read to the app, which answers 503", async ({ redis }) => {
  const { app, put, deps } = await buildApi({ redisUrl: redis.url });
  await put({ webhookKey: "hook-1" });
  const server = await listen(app, 0, "127.0.0.1", createFastRead(deps));
  onTestFinished(() => server.close());
  await redis.stop();
  const res = await fetch(`http://127.0.0.1:${server.port}/v1/data/hook-1`, { headers: auth(TOKENS.reader) });
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe("5");
  await redis.start();
});
