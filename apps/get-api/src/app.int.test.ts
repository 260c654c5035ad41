import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { ID_PATTERN, WEBHOOK_KEY_PATTERN } from "@gsk/schema";
import { listen } from "@gsk/service";
import { sqsClient, test } from "@gsk/testing";
import { describe, expect, onTestFinished } from "vitest";
import { auth, buildApi, json, PRODUCED_AT, TOKENS } from "./test-support.ts";

describe("GET /v1/data/{webhookKey}", () => {
  test("answers the stored entry with an ETag, and 304 when it matches", async ({ redis }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url });
    await put({ webhookKey: "hook-1" }, { order: 7, name: "Zoë" });
    const res = await app.request("/v1/data/hook-1", { headers: auth(TOKENS.reader) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const etag = res.headers.get("etag")!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(await json(res)).toEqual({
      webhookKey: "hook-1",
      accountId: "acme",
      flowId: "orders",
      data: { order: 7, name: "Zoë" },
      eventId: "e-1",
      producedAt: new Date(PRODUCED_AT).toISOString(),
      storedAt: new Date(PRODUCED_AT + 1000).toISOString(),
      expiresAt: expect.stringMatching(/Z$/),
    });
    const again = await app.request("/v1/data/hook-1", {
      headers: auth(TOKENS.reader, { "If-None-Match": etag }),
    });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    const other = await app.request("/v1/data/hook-1", {
      headers: auth(TOKENS.reader, { "If-None-Match": '"x"' }),
    });
    expect(other.status).toBe(200);
  });

  test("404 for an absent key, 400 for a bad one, both as problem+json", async ({ redis }) => {
    const { app } = await buildApi({ redisUrl: redis.url });
    const absent = await app.request("/v1/data/nothing-here", { headers: auth(TOKENS.reader) });
    expect(absent.status).toBe(404);
    expect(absent.headers.get("content-type")).toBe("application/problem+json");
    expect(await json(absent)).toMatchObject({
      status: 404,
      title: "Not Found",
      type: "urn:gsk:problem:not_found",
    });
    const bad = await app.request(`/v1/data/${"x".repeat(129)}`, { headers: auth(TOKENS.reader) });
    expect(bad.status).toBe(400);
    expect((await json(bad)).errors).toEqual([
      { path: "", message: "must be 1-128 characters of [A-Za-z0-9._~-]" },
    ]);
  });
});

describe("POST /v1/data/batch", () => {
  test("answers the entries found and the keys missing", async ({ redis }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url });
    await put({ webhookKey: "a" }, 1);
    await put({ webhookKey: "b" }, 2);
    const res = await app.request("/v1/data/batch", {
      method: "POST",
      headers: auth(TOKENS.reader, { "Content-Type": "application/json" }),
      body: JSON.stringify({ webhookKeys: ["a", "zz", "b", "a"] }),
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.entries.map((e: { webhookKey: string; data: number }) => [e.webhookKey, e.data])).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    expect(body.missing).toEqual(["zz"]);
  });

  test("a batch of small entries is answered whole: Redis failing on a later group is a 503, not a cut answer", async ({
    redis,
  }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url });
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    for (const key of keys) await put({ webhookKey: key }, key);
    const read = () =>
      app.request("/v1/data/batch", {
        method: "POST",
        headers: auth(TOKENS.reader),
        body: JSON.stringify({ webhookKeys: keys }),
      });
    const whole = await read();
    expect(whole.status).toBe(200);
    expect((await json(whole)).entries).toHaveLength(60);
    // The third group of 25 meets a key Redis refuses to read as an entry (WRONGTYPE).
    await redis.cli("SET", "gsk:entry:k55", "not a hash");
    const failed = await read();
    expect(failed.status).toBe(503);
    expect(failed.headers.get("retry-after")).toBe("5");
  });

  test("400 lists every problem of a bad body", async ({ redis }) => {
    const { app } = await buildApi({ redisUrl: redis.url });
    const req = (body: string) =>
      app.request("/v1/data/batch", { method: "POST", headers: auth(TOKENS.reader), body });
    expect((await json(await req("{"))).type).toBe("urn:gsk:problem:invalid_json");
    const tooMany = await req(
      JSON.stringify({ webhookKeys: Array.from({ length: 101 }, (_, i) => `k${i}`) }),
    );
    expect(tooMany.status).toBe(400);
    expect((await json(tooMany)).errors).toEqual([
      { path: "webhookKeys", message: "must name at most 100 webhook keys" },
    ]);
    const badKeys = await json(await req(JSON.stringify({ webhookKeys: ["ok", "not ok", ""] })));
    expect(badKeys.errors.map((e: { path: string }) => e.path)).toEqual(["webhookKeys.1", "webhookKeys.2"]);
  });
});

describe("authentication and scopes", () => {
  test("only health, metrics and docs answer without a token", async ({ redis }) => {
    const { app } = await buildApi({ redisUrl: redis.url });
    for (const path of ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]) {
      expect((await app.request(path)).status, path).toBe(200);
    }
    const paths: [string, string][] = [
      ["GET", "/v1/data/k"],
      ["POST", "/v1/data/batch"],
      ["POST", "/v1/data"],
      ["GET", "/v1/ttl-policies/accounts/acme"],
      ["PUT", "/v1/ttl-policies/accounts/acme/flows/f"],
      ["GET", "/v1/ttl-policies/effective?accountId=a&flowId=f"],
      ["GET", "/nowhere"],
      ["DELETE", "/v1"],
    ];
    for (const [method, path] of paths) {
      for (const headers of [{}, auth("wrong-token"), { Authorization: "Basic Zm9vOmJhcg==" }]) {
        const res = await app.request(path, { method, headers });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Bearer realm="gsk"');
      }
    }
  });

  test("a token scoped to one account gets 404 for another account's entry, in GET and batch", async ({
    redis,
  }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url });
    await put({ webhookKey: "acme-key", accountId: "acme" });
    await put({ webhookKey: "beta-key", accountId: "beta" });
    expect((await app.request("/v1/data/acme-key", { headers: auth(TOKENS.acme) })).status).toBe(200);
    const hidden = await app.request("/v1/data/beta-key", { headers: auth(TOKENS.acme) });
    const absent = await app.request("/v1/data/no-such-key", { headers: auth(TOKENS.acme) });
    expect(hidden.status).toBe(404);
    expect((await json(hidden)).title).toBe((await json(absent)).title);
    const batch = await app.request("/v1/data/batch", {
      method: "POST",
      headers: auth(TOKENS.acme),
      body: JSON.stringify({ webhookKeys: ["acme-key", "beta-key"] }),
    });
    const body = await json(batch);
    expect(body.entries.map((e: { webhookKey: string }) => e.webhookKey)).toEqual(["acme-key"]);
    expect(body.missing).toEqual(["beta-key"]);
  });

  test("data:read gets 403 on TTL admin and on POST /v1/data", async ({ redis, sqs, queues }) => {
    const client = sqs.client();
    onTestFinished(() => client.destroy());
    const { app } = await buildApi({ redisUrl: redis.url, sqs: { client, queueUrl: queues.queueUrl } });
    const admin = await app.request("/v1/ttl-policies/accounts/acme", { headers: auth(TOKENS.reader) });
    expect(admin.status).toBe(403);
    expect((await json(admin)).detail).toBe("This token lacks the scope ttl:admin");
    const post = await app.request("/v1/data", {
      method: "POST",
      headers: auth(TOKENS.reader),
      body: JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: 1 }),
    });
    expect(post.status).toBe(403);
    expect((await app.request("/v1/data/k", { headers: auth(TOKENS.admin) })).status).toBe(403);
  });

  test("tokens never appear in logs; request ids are honoured and returned", async ({ redis }) => {
    const { app, logs } = await buildApi({ redisUrl: redis.url });
    const res = await app.request("/v1/data/k", {
      headers: auth(TOKENS.reader, { "X-Request-Id": "req-42" }),
    });
    expect(res.headers.get("x-request-id")).toBe("req-42");
    const generated = await app.request("/v1/data/k", { headers: auth("not-a-real-token-secret") });
    expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const all = logs.join("");
    expect(all).toContain('"reqId":"req-42"');
    expect(all).toContain('"principal":"reader"');
    for (const secret of [...Object.values(TOKENS), "not-a-real-token-secret"])
      expect(all).not.toContain(secret);
  });
});

describe("TTL policies", () => {
  test("account and flow policies: put, get, delete, bounds and null", async ({ redis }) => {
    const { app } = await buildApi({ redisUrl: redis.url });
    const call = (method: string, path: string, body?: unknown) =>
      app.request(`/v1/ttl-policies${path}`, {
        method,
        headers: auth(TOKENS.admin),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect((await call("GET", "/accounts/acme")).status).toBe(404);
    expect(await json(await call("PUT", "/accounts/acme", { ttlSeconds: 3600 }))).toEqual({
      ttlSeconds: 3600,
    });
    expect(await json(await call("GET", "/accounts/acme"))).toEqual({ ttlSeconds: 3600 });
    expect(await json(await call("PUT", "/accounts/acme/flows/orders", { ttlSeconds: null }))).toEqual({
      ttlSeconds: null,
    });
    expect(await json(await call("GET", "/effective?accountId=acme&flowId=orders"))).toEqual({
      ttlSeconds: null,
      source: "flow",
    });
    expect(await json(await call("GET", "/effective?accountId=acme&flowId=other"))).toEqual({
      ttlSeconds: 3600,
      source: "account",
    });
    expect(await json(await call("GET", "/effective?accountId=zeta&flowId=x"))).toEqual({
      ttlSeconds: 604_800,
      source: "default",
    });
    expect((await call("DELETE", "/accounts/acme/flows/orders")).status).toBe(204);
    expect((await call("DELETE", "/accounts/acme/flows/orders")).status).toBe(404);
    const low = await call("PUT", "/accounts/acme", { ttlSeconds: 59 });
    expect(low.status).toBe(400);
    expect((await json(low)).errors).toEqual([{ path: "ttlSeconds", message: "must be at least 60" }]);
    expect((await call("PUT", "/accounts/acme", { ttlSeconds: 31_536_001 })).status).toBe(400);
    expect((await call("PUT", "/accounts/acme", { ttl: 60 })).status).toBe(400);
    expect((await call("PUT", "/accounts/bad%20id", { ttlSeconds: 60 })).status).toBe(400);
    expect((await call("GET", "/effective?accountId=acme")).status).toBe(400);
  });

  test("an account-scoped admin sees only its account's policies", async ({ redis }) => {
    const { app } = await buildApi({ redisUrl: redis.url });
    const put = (token: string, account: string) =>
      app.request(`/v1/ttl-policies/accounts/${account}`, {
        method: "PUT",
        headers: auth(token),
        body: JSON.stringify({ ttlSeconds: 600 }),
      });
    expect((await put(TOKENS.acmeAdmin, "acme")).status).toBe(200);
    expect((await put(TOKENS.acmeAdmin, "beta")).status).toBe(404);
  });
});

describe("gateway mode: POST /v1/data", () => {
  test("validates, fills producedAt and eventId, and queues the envelope", async ({ redis, sqs, queues }) => {
    const client = sqs.client();
    onTestFinished(() => client.destroy());
    const { app } = await buildApi({ redisUrl: redis.url, sqs: { client, queueUrl: queues.queueUrl } });
    const res = await app.request("/v1/data", {
      method: "POST",
      headers: auth(TOKENS.writer, { "Content-Type": "application/json" }),
      body: JSON.stringify({
        accountId: "acme",
        flowId: "orders",
        webhookKeys: ["k1", "k2"],
        data: { a: 1 },
        extra: 1,
      }),
    });
    expect(res.status).toBe(202);
    const accepted = await json(res);
    expect(accepted.messageId).toMatch(/\S/);
    expect(accepted.eventId).toMatch(/^[0-9a-f-]{36}$/);
    const { Messages } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, WaitTimeSeconds: 1 }),
    );
    expect(Messages?.[0]?.MessageId).toBe(accepted.messageId);
    const queued = JSON.parse(Messages?.[0]?.Body ?? "{}");
    expect(queued).toEqual({
      accountId: "acme",
      flowId: "orders",
      webhookKeys: ["k1", "k2"],
      data: { a: 1 },
      producedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      eventId: accepted.eventId,
    });
  });

  test("400 lists every problem, 413 above the size limit, 403 for another account", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    onTestFinished(() => client.destroy());
    const { app } = await buildApi({
      redisUrl: redis.url,
      sqs: { client, queueUrl: queues.queueUrl },
      extra: { MAX_DATA_BYTES: "1000" },
    });
    const post = (token: string, body: string, headers: Record<string, string> = {}) =>
      app.request("/v1/data", { method: "POST", headers: auth(token, headers), body });
    const bad = await post(
      TOKENS.writer,
      JSON.stringify({ accountId: "", webhookKeys: ["a", "a"], data: 1 }),
    );
    expect(bad.status).toBe(400);
    expect((await json(bad)).errors.map((e: { path: string }) => e.path).sort()).toEqual([
      "accountId",
      "flowId",
      "webhookKeys",
    ]);
    const big = await post(
      TOKENS.writer,
      JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: "x".repeat(1000) }),
    );
    expect(big.status).toBe(413);
    const huge = await post(TOKENS.writer, "x".repeat(70_000), { "Content-Length": "70000" });
    expect(huge.status).toBe(413);
    const foreign = await post(
      TOKENS.acmeAdmin,
      JSON.stringify({ accountId: "beta", flowId: "f", webhookKeys: ["k"], data: 1 }),
    );
    expect(foreign.status).toBe(403);
  });

  test("503 with Retry-After when SQS is unreachable", async ({ redis }) => {
    const client = sqsClient("http://127.0.0.1:9");
    onTestFinished(() => client.destroy());
    const { app } = await buildApi({
      redisUrl: redis.url,
      sqs: { client, queueUrl: "http://127.0.0.1:9/000000000000/q" },
    });
    const res = await app.request("/v1/data", {
      method: "POST",
      headers: auth(TOKENS.writer),
      body: JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: 1 }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
  });

  test("is 404 when INGRESS_ENABLED is off", async ({ redis }) => {
    const { app } = await buildApi({ redisUrl: redis.url });
    const res = await app.request("/v1/data", { method: "POST", headers: auth(TOKENS.writer), body: "{}" });
    expect(res.status).toBe(404);
  });
});

describe("DELETE /v1/data/{webhookKey}", () => {
  test("204 deletes the live entry and frees the key; 404 for none or another account's; 403 without the scope", async ({
    redis,
  }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url });
    await put({ webhookKey: "mine", accountId: "acme" });
    await put({ webhookKey: "theirs", accountId: "beta" });
    const del = (key: string, token: string) =>
      app.request(`/v1/data/${key}`, { method: "DELETE", headers: auth(token) });
    expect((await del("mine", TOKENS.reader)).status).toBe(403);
    expect((await del("theirs", TOKENS.acmeDeleter)).status).toBe(404);
    expect((await app.request("/v1/data/theirs", { headers: auth(TOKENS.reader) })).status).toBe(200);
    const deleted = await del("mine", TOKENS.acmeDeleter);
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    expect((await app.request("/v1/data/mine", { headers: auth(TOKENS.acmeDeleter) })).status).toBe(404);
    expect((await del("mine", TOKENS.acmeDeleter)).status).toBe(404);
    expect((await del("bad key", TOKENS.deleter)).status).toBe(400);
    // The key is free: another account's entry can take it.
    await put({ webhookKey: "mine", accountId: "beta", eventId: "e-2" });
    expect((await app.request("/v1/data/mine", { headers: auth(TOKENS.reader) })).status).toBe(200);
    expect((await del("theirs", TOKENS.deleter)).status).toBe(204);
  });
});

describe("operations", () => {
  test("Redis stopped: reads answer 503 with Retry-After, /readyz fails, and both recover", async ({
    redis,
  }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url });
    await put({ webhookKey: "k" });
    await redis.stop();
    const down = await app.request("/v1/data/k", { headers: auth(TOKENS.reader) });
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("5");
    expect((await app.request("/readyz")).status).toBe(503);
    await redis.start();
    let status = 0;
    for (let i = 0; i < 50 && status !== 404; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await app.request("/v1/data/k", { headers: auth(TOKENS.reader) })).status;
    }
    expect(status).toBe(404);
    expect((await app.request("/readyz")).status).toBe(200);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toMatch(/gsk_api_redis_errors_total [1-9]/);
    expect(metrics).toContain(
      'gsk_api_http_requests_total{route="/v1/data/:webhookKey",method="GET",status="503"}',
    );
  });

  test("serves over a real socket on 127.0.0.1", async ({ redis }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url });
    await put({ webhookKey: "sock" }, "over-tcp");
    const server = await listen(app, 0, "127.0.0.1");
    onTestFinished(() => server.close());
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/data/sock`, { headers: auth(TOKENS.reader) });
    expect(res.status).toBe(200);
    expect((await json(res)).data).toBe("over-tcp");
  });

  test("the OpenAPI document is generated from the schemas and the docs page renders it", async ({
    redis,
  }) => {
    const { app } = await buildApi({ redisUrl: redis.url });
    const doc = await json(await app.request("/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    const envelope = doc.paths["/v1/data"].post.requestBody.content["application/json"].schema;
    expect(envelope.properties.accountId.pattern).toBe(ID_PATTERN.source);
    const read = doc.paths["/v1/data/{webhookKey}"].get;
    expect(read.parameters[0].schema.pattern).toBe(WEBHOOK_KEY_PATTERN.source);
    expect(Object.keys(read.responses).sort()).toEqual(["200", "304", "400", "401", "403", "404", "503"]);
    const policy = doc.paths["/v1/ttl-policies/accounts/{accountId}"].put;
    expect(policy.requestBody.content["application/json"].schema.properties.ttlSeconds).toBeDefined();
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/docs",
      "/healthz",
      "/metrics",
      "/openapi.json",
      "/readyz",
      "/v1/data",
      "/v1/data/batch",
      "/v1/data/{webhookKey}",
      "/v1/ttl-policies/accounts/{accountId}",
      "/v1/ttl-policies/accounts/{accountId}/flows/{flowId}",
      "/v1/ttl-policies/effective",
    ]);
    expect(await (await app.request("/docs")).text()).toContain('<script src="/docs/scalar.js">');
    const script = await app.request("/docs/scalar.js");
    expect(script.headers.get("content-type")).toContain("javascript");
    expect((await script.text()).length).toBeGreaterThan(100_000);
  });
});
