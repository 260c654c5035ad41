import { redisKeys } from "@gsk/redis-keys";
import { drainQueue, isoFromNow, queueDepth, redisClient, test, waitFor } from "@gsk/testing";
import { createPolicyStore } from "@gsk/ttl-policy";
import { describe, expect } from "vitest";
import { outcomeCount, redisHandle, send, startWorker, workerEnv } from "./test-support.ts";

const keys = redisKeys("gsk");

const envelope = (over: Record<string, unknown> = {}) => ({
  accountId: "acme",
  flowId: "orders",
  webhookKeys: ["hook-a", "hook-b", "hook-c"],
  data: { order: 42, items: ["x", "ü"] },
  ...over,
});

describe("ingest worker (Redis and fauxqs)", () => {
  test("stores a message under every webhook key with its fields and the default TTL", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const worker = await startWorker(
      workerEnv({ redisUrls: [redis.url], endpoint: sqs.endpoint, ...queues }),
      client,
    );
    const messageId = await send(client, queues.queueUrl, envelope({ producedAt: undefined }));
    const r = await redisClient(redis.url);
    await waitFor(
      async () => (await r.exists(["gsk:entry:hook-a", "gsk:entry:hook-b", "gsk:entry:hook-c"])) === 3,
      "3 entries",
    );
    const entry = JSON.parse((await r.hGet("gsk:entry:hook-b", "b"))!);
    expect(entry).toMatchObject({
      webhookKey: "hook-b",
      accountId: "acme",
      flowId: "orders",
      data: { order: 42, items: ["x", "ü"] },
      eventId: messageId,
    });
    expect(entry.producedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(entry.expiresAt) - Date.parse(entry.producedAt)).toBe(604_800_000);
    expect(await r.pExpireTime("gsk:entry:hook-b")).toBe(Date.parse(entry.expiresAt));
    // Counted once the whole batch is decided, which can be just after the entries appear.
    await waitFor(async () => (await outcomeCount(worker, "stored")) === 1, "counted as stored");
    await waitFor(async () => (await queueDepth(client, queues.queueUrl)) === 0, "message deleted");
    client.destroy();
  });

  test("TTL precedence: flow over account over default, as the keys' remaining time", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const r = await redisClient(redis.url);
    const policies = createPolicyStore(await redisHandle(redis.url), keys, 604_800);
    await policies.set({ accountId: "acme" }, { ttlSeconds: 3600 });
    await policies.set({ accountId: "acme", flowId: "fast" }, { ttlSeconds: 120 });
    await policies.set({ accountId: "acme", flowId: "keep" }, { ttlSeconds: null });
    await startWorker(workerEnv({ redisUrls: [redis.url], endpoint: sqs.endpoint, ...queues }), client);
    const now = new Date().toISOString();
    await send(client, queues.queueUrl, envelope({ flowId: "fast", webhookKeys: ["flow"], producedAt: now }));
    await send(
      client,
      queues.queueUrl,
      envelope({ flowId: "other", webhookKeys: ["account"], producedAt: now }),
    );
    await send(
      client,
      queues.queueUrl,
      envelope({ accountId: "beta", webhookKeys: ["default"], producedAt: now }),
    );
    await send(
      client,
      queues.queueUrl,
      envelope({ flowId: "keep", webhookKeys: ["never"], producedAt: now }),
    );
    await waitFor(
      async () =>
        (await r.exists(["gsk:entry:flow", "gsk:entry:account", "gsk:entry:default", "gsk:entry:never"])) ===
        4,
      "4 entries",
    );
    const ttl = async (k: string) => Math.round((await r.pTTL(`gsk:entry:${k}`)) / 1000);
    expect(await ttl("flow")).toBeGreaterThan(110);
    expect(await ttl("flow")).toBeLessThanOrEqual(120);
    expect(await ttl("account")).toBeGreaterThan(3590);
    expect(await ttl("account")).toBeLessThanOrEqual(3600);
    expect(await ttl("default")).toBeGreaterThan(604_790);
    expect(await r.pTTL("gsk:entry:never")).toBe(-1);
    expect(JSON.parse((await r.hGet("gsk:entry:never", "b"))!).expiresAt).toBeNull();
    client.destroy();
  });

  test("a TTL policy change applies to messages processed 5 seconds later", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const r = await redisClient(redis.url);
    const policies = createPolicyStore(await redisHandle(redis.url), keys, 604_800);
    await policies.set({ accountId: "acme" }, { ttlSeconds: 3600 });
    await startWorker(workerEnv({ redisUrls: [redis.url], endpoint: sqs.endpoint, ...queues }), client);
    await send(
      client,
      queues.queueUrl,
      envelope({ webhookKeys: ["before"], producedAt: new Date().toISOString() }),
    );
    await waitFor(async () => (await r.exists("gsk:entry:before")) === 1, "first entry");
    await policies.set({ accountId: "acme" }, { ttlSeconds: 600 });
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await send(
      client,
      queues.queueUrl,
      envelope({ webhookKeys: ["after"], producedAt: new Date().toISOString() }),
    );
    await waitFor(async () => (await r.exists("gsk:entry:after")) === 1, "second entry");
    expect(Math.round((await r.pTTL("gsk:entry:before")) / 1000)).toBeGreaterThan(3500);
    expect(Math.round((await r.pTTL("gsk:entry:after")) / 1000)).toBeLessThanOrEqual(600);
    client.destroy();
  }, 15_000);

  test("an older message after a newer one leaves the newer; three deliveries of one message change nothing", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const r = await redisClient(redis.url);
    const worker = await startWorker(
      workerEnv({ redisUrls: [redis.url], endpoint: sqs.endpoint, ...queues }),
      client,
    );
    const newer = envelope({
      webhookKeys: ["k"],
      data: "newer",
      producedAt: isoFromNow(-3_600_000),
      eventId: "e2",
    });
    const older = envelope({
      webhookKeys: ["k"],
      data: "older",
      producedAt: isoFromNow(-7_200_000),
      eventId: "e9",
    });
    await send(client, queues.queueUrl, newer);
    await waitFor(async () => (await r.exists("gsk:entry:k")) === 1, "newer stored");
    const stored = await r.hGetAll("gsk:entry:k");
    const expiry = await r.pExpireTime("gsk:entry:k");
    await send(client, queues.queueUrl, older);
    for (let i = 0; i < 3; i++) await send(client, queues.queueUrl, newer);
    await waitFor(async () => (await outcomeCount(worker, "unchanged")) === 4, "4 unchanged");
    expect(await r.hGetAll("gsk:entry:k")).toEqual(stored);
    expect(await r.pExpireTime("gsk:entry:k")).toBe(expiry);
    expect(JSON.parse(stored.b!).data).toBe("newer");
    client.destroy();
  });

  test("a message already past its expiry is acknowledged and not stored", async ({ redis, sqs, queues }) => {
    const client = sqs.client();
    const r = await redisClient(redis.url);
    const worker = await startWorker(
      workerEnv({ redisUrls: [redis.url], endpoint: sqs.endpoint, ...queues }),
      client,
    );
    await send(
      client,
      queues.queueUrl,
      envelope({ webhookKeys: ["old"], producedAt: isoFromNow(-8 * 86_400_000) }),
    );
    await waitFor(async () => (await outcomeCount(worker, "expired")) === 1, "expired");
    expect(await r.exists("gsk:entry:old")).toBe(0);
    await waitFor(async () => (await queueDepth(client, queues.queueUrl)) === 0, "deleted");
    expect(await drainQueue(client, queues.dlqUrl)).toHaveLength(0);
    client.destroy();
  });

  test("every kind of bad input goes to the DLQ with its error code, and good messages still flow", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const r = await redisClient(redis.url);
    const worker = await startWorker(
      workerEnv({
        redisUrls: [redis.url],
        endpoint: sqs.endpoint,
        ...queues,
        extra: { MAX_DATA_BYTES: "100" },
      }),
      client,
    );
    const bad: [string, string][] = [
      ["not json", "invalid_json"],
      [" ", "invalid_json"],
      ["\ufffd\u00ff\u0080\tbinary", "invalid_json"],
      ["[1,2]", "invalid_envelope"],
      [JSON.stringify(envelope({ accountId: "" })), "invalid_envelope"],
      [JSON.stringify(envelope({ flowId: "a/b" })), "invalid_envelope"],
      [JSON.stringify(envelope({ webhookKeys: [] })), "invalid_envelope"],
      [JSON.stringify(envelope({ webhookKeys: ["a", "a"] })), "invalid_envelope"],
      [JSON.stringify(envelope({ webhookKeys: ["bad key"] })), "invalid_envelope"],
      [JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"] }), "invalid_envelope"],
      [JSON.stringify(envelope({ producedAt: "yesterday" })), "invalid_envelope"],
      [JSON.stringify(envelope({ eventId: "no spaces" })), "invalid_envelope"],
      [JSON.stringify(envelope({ data: "x".repeat(200) })), "data_too_large"],
    ];
    for (const [body] of bad) await send(client, queues.queueUrl, body);
    await send(client, queues.queueUrl, envelope({ webhookKeys: ["good"] }));
    await waitFor(async () => (await outcomeCount(worker, "rejected")) === bad.length, "all rejected");
    await waitFor(async () => (await r.exists("gsk:entry:good")) === 1, "good stored");
    const dead = [];
    for (let i = 0; i < 5 && dead.length < bad.length; i++)
      dead.push(...(await drainQueue(client, queues.dlqUrl)));
    const byBody = new Map(dead.map((m) => [m.Body, m.MessageAttributes]));
    for (const [body, code] of bad) {
      const attributes = byBody.get(body);
      expect(attributes?.["gsk-error-code"]?.StringValue, body).toBe(code);
      expect(attributes?.["gsk-error-detail"]?.StringValue?.length).toBeGreaterThan(0);
    }
    expect(
      byBody.get(JSON.stringify(envelope({ accountId: "" })))?.["gsk-error-detail"]?.StringValue,
    ).toMatch(/^accountId: /);
    await waitFor(async () => (await queueDepth(client, queues.queueUrl)) === 0, "source queue empty");
    client.destroy();
  });

  test("serves /healthz, /readyz and /metrics", async ({ redis, sqs, queues }) => {
    const client = sqs.client();
    const worker = await startWorker(
      workerEnv({ redisUrls: [redis.url], endpoint: sqs.endpoint, ...queues }),
      client,
    );
    const base = `http://127.0.0.1:${worker.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('gsk_ingest_messages_total{outcome="stored"} 0');
    expect(metrics).toContain("gsk_ingest_batch_duration_seconds_bucket");
    await redis.stop();
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    client.destroy();
  });
});

describe("ingest worker on a Redis Cluster", () => {
  test("stores every key across masters and keeps last-writer-wins", async ({
    redisCluster,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const worker = await startWorker(
      workerEnv({ redisUrls: redisCluster.urls, cluster: true, endpoint: sqs.endpoint, ...queues }),
      client,
    );
    const hooks = Array.from({ length: 12 }, (_, i) => `hook-${i}`);
    await send(
      client,
      queues.queueUrl,
      envelope({ webhookKeys: hooks, producedAt: isoFromNow(-3_600_000), data: 2 }),
    );
    await waitFor(async () => (await outcomeCount(worker, "stored")) === 1, "stored");
    await send(
      client,
      queues.queueUrl,
      envelope({ webhookKeys: hooks, producedAt: isoFromNow(-7_200_000), data: 1 }),
    );
    await waitFor(async () => (await outcomeCount(worker, "unchanged")) === 1, "older ignored");
    const counts = await Promise.all(redisCluster.nodes.map(async (n) => Number(await n.cli("DBSIZE"))));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(12);
    expect(counts.filter((c) => c > 0).length).toBeGreaterThan(1);
    for (const node of redisCluster.nodes) {
      const nodeKeys = (await node.cli("KEYS", "gsk:entry:*")).split("\n").filter(Boolean);
      for (const key of nodeKeys) expect(JSON.parse(await node.cli("HGET", key, "b")).data).toBe(2);
    }
    client.destroy();
  });
});
