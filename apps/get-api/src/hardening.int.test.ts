// Hostile requests and unlucky dependencies, over real sockets, Redis and fauxqs.
import { Agent, request } from "node:http";
import { listen } from "@gsk/service";
import { createQueueWithDlq, isoFromNow, test } from "@gsk/testing";
import { describe, expect, onTestFinished } from "vitest";
import { auth, buildApi, json, TOKENS } from "./test-support.ts";

function call(
  agent: Agent,
  port: number,
  method: string,
  path: string,
  options: { body?: Buffer; headers?: Record<string, string> } = {},
) {
  const length = options.body ? { "Content-Length": String(options.body.length) } : {};
  return new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method, path, agent, headers: { ...options.headers, ...length } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const post = (body: unknown) => ({
  method: "POST",
  headers: auth(TOKENS.writer, { "Content-Type": "application/json" }),
  body: typeof body === "string" ? body : JSON.stringify(body),
});

describe("get-api under hostile requests", () => {
  test("a request answered before its body was read closes its connection; the client's next request works", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    onTestFinished(() => client.destroy());
    const { app } = await buildApi({ redisUrl: redis.url, sqs: { client, queueUrl: queues.queueUrl } });
    const server = await listen(app, 0, "127.0.0.1");
    onTestFinished(() => server.close());
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    onTestFinished(() => agent.destroy());
    const tooLarge = await call(agent, server.port, "POST", "/v1/data", {
      body: Buffer.alloc(400_000, "a"),
      headers: auth(TOKENS.writer),
    });
    expect(tooLarge).toMatchObject({ status: 413, connection: "close" });
    expect(await call(agent, server.port, "GET", "/readyz")).toMatchObject({
      status: 200,
      connection: "keep-alive",
    });
    const noToken = await call(agent, server.port, "POST", "/v1/data/batch", {
      body: Buffer.alloc(50_000, "a"),
    });
    expect(noToken).toMatchObject({ status: 401, connection: "close" });
    expect((await call(agent, server.port, "GET", "/healthz")).status).toBe(200);
    const read = await call(agent, server.port, "POST", "/v1/data/batch", {
      body: Buffer.from(JSON.stringify({ webhookKeys: ["a"] })),
      headers: auth(TOKENS.reader),
    });
    expect(read).toMatchObject({ status: 200, connection: "keep-alive" });
  });

  test("gateway mode: 400 for data too deep, inexact numbers or producedAt in the future; 409 for another account's key", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    onTestFinished(() => client.destroy());
    const { app, put } = await buildApi({ redisUrl: redis.url, sqs: { client, queueUrl: queues.queueUrl } });
    const deep = await app.request(
      "/v1/data",
      post(
        `{"accountId":"a","flowId":"f","webhookKeys":["k"],"data":${"[".repeat(20_000)}${"]".repeat(20_000)}}`,
      ),
    );
    expect(deep.status).toBe(400);
    expect((await json(deep)).detail).toContain("must not nest deeper than 64 levels");
    const huge = await app.request(
      "/v1/data",
      post('{"accountId":"a","flowId":"f","webhookKeys":["k"],"data":1e400}'),
    );
    expect(huge.status).toBe(400);
    expect((await json(huge)).errors).toEqual([{ path: "data", message: expect.stringContaining("finite") }]);
    const future = await app.request(
      "/v1/data",
      post({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: 1, producedAt: isoFromNow(3_600_000) }),
    );
    expect(future.status).toBe(400);
    expect((await json(future)).type).toBe("urn:gsk:problem:produced_in_future");

    await put({ webhookKey: "taken", accountId: "acme" });
    const conflict = await app.request(
      "/v1/data",
      post({ accountId: "beta", flowId: "f", webhookKeys: ["free", "taken"], data: 1 }),
    );
    expect(conflict.status).toBe(409);
    expect((await json(conflict)).detail).toBe("Webhook keys held by another account's live entry: taken");
    const own = await app.request(
      "/v1/data",
      post({ accountId: "acme", flowId: "f", webhookKeys: ["taken"], data: 2 }),
    );
    expect(own.status).toBe(202);
  });

  test("gateway mode: SQS refusing the message itself is 413/400, not a 503 to retry forever", async ({
    redis,
    sqs,
  }) => {
    const client = sqs.client();
    onTestFinished(() => client.destroy());
    const small = await createQueueWithDlq(client, `tiny-${Date.now()}`, { maxMessageSize: 1024 });
    const { app } = await buildApi({ redisUrl: redis.url, sqs: { client, queueUrl: small.queueUrl } });
    const tooBig = await app.request(
      "/v1/data",
      post({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: "x".repeat(2000) }),
    );
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers.get("retry-after")).toBeNull();
    const badChars = await app.request(
      "/v1/data",
      post({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: "\uFFFF" }),
    );
    expect(badChars.status).toBe(400);
    expect((await json(badChars)).type).toBe("urn:gsk:problem:invalid_message_contents");
  });

  test("a batch of 100 large entries streams them all, exactly", async ({ redis }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url });
    const keys = Array.from({ length: 100 }, (_, i) => `big-${i}`);
    for (const key of keys.slice(0, 95)) await put({ webhookKey: key }, { key, pad: "é".repeat(50_000) });
    const res = await app.request("/v1/data/batch", {
      method: "POST",
      headers: auth(TOKENS.reader),
      body: JSON.stringify({ webhookKeys: keys }),
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.entries.map((e: { data: { key: string } }) => e.data.key)).toEqual(keys.slice(0, 95));
    expect(body.entries[94].data.pad).toHaveLength(50_000);
    expect(body.missing).toEqual(keys.slice(95));
  });

  test("Redis hung (CLIENT PAUSE): GET and /readyz answer 503 within the timeout plus a second, then 200", async ({
    redis,
  }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url, extra: { REDIS_COMMAND_TIMEOUT_MS: "500" } });
    await put({ webhookKey: "k" });
    await redis.cli("CLIENT", "PAUSE", "3000", "ALL");
    const started = performance.now();
    const [read, ready] = await Promise.all([
      app.request("/v1/data/k", { headers: auth(TOKENS.reader) }),
      app.request("/readyz"),
    ]);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(read.status).toBe(503);
    expect(read.headers.get("retry-after")).toBe("5");
    expect(ready.status).toBe(503);
    expect(await json(ready)).toEqual({ status: "not ready", reason: "not answering: redis" });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await app.request("/v1/data/k", { headers: auth(TOKENS.reader) })).status).toBe(200);
    expect((await app.request("/readyz")).status).toBe(200);
  });
});
