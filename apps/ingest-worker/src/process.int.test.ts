// The built worker (dist/main.js) as a process: killed, stopped and facing a Redis outage.
import { fileURLToPath } from "node:url";
import {
  createQueueWithDlq,
  exited,
  freePort,
  queueDepth,
  redisClient,
  spawnNode,
  startRedis,
  test,
  waitFor,
} from "@gsk/testing";
import { describe, expect, onTestFinished } from "vitest";
import { outcomeCount, send, sendMany, startWorker, workerEnv } from "./test-support.ts";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

const spawnWorker = (env: Record<string, string>) => spawnNode(MAIN, [], env).child;

async function ready(port: number) {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, "worker ready");
}

const envelopes = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({
    accountId: "acme",
    flowId: "orders",
    webhookKeys: [`${prefix}-${i}`],
    data: { i, pad: "x".repeat(200) },
  }));

const entryCount = async (r: Awaited<ReturnType<typeof redisClient>>, prefix: string) =>
  (await r.keys(`gsk:entry:${prefix}-*`)).length;

describe("ingest worker process", () => {
  test("killed with SIGKILL mid-stream and restarted: every message ends in Redis", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const r = await redisClient(redis.url);
    const port = await freePort();
    const env = workerEnv({
      redisUrls: [redis.url],
      endpoint: sqs.endpoint,
      ...queues,
      extra: { PORT: String(port), INGEST_VISIBILITY_TIMEOUT_SECONDS: "5" },
    });
    await sendMany(client, queues.queueUrl, envelopes(400, "kill"));
    const first = spawnWorker(env);
    await waitFor(async () => (await entryCount(r, "kill")) > 50, "some stored", 20_000);
    first.kill("SIGKILL");
    await exited(first);
    expect(await entryCount(r, "kill")).toBeLessThan(400);
    const second = spawnWorker(env);
    await ready(port);
    await waitFor(async () => (await entryCount(r, "kill")) === 400, "all 400 stored", 30_000, 200);
    await waitFor(
      async () => (await queueDepth(client, queues.queueUrl)) === 0,
      "queue drained",
      15_000,
      200,
    );
    expect(await queueDepth(client, queues.dlqUrl)).toBe(0);
    second.kill("SIGTERM");
    await exited(second);
    client.destroy();
  }, 60_000);

  test("SIGTERM during a batch: the batch completes and is deleted before the process exits", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const r = await redisClient(redis.url);
    const port = await freePort();
    const worker = spawnNode(
      MAIN,
      [],
      workerEnv({
        redisUrls: [redis.url],
        endpoint: sqs.endpoint,
        ...queues,
        extra: { PORT: String(port), LOG_LEVEL: "info" },
      }),
    );
    await ready(port);
    // Redis sleeps, so the batch received next is in flight when SIGTERM arrives.
    const sleeping = redis.cli("DEBUG", "SLEEP", "2");
    await sendMany(client, queues.queueUrl, envelopes(10, "term"));
    await new Promise((resolve) => setTimeout(resolve, 700));
    worker.child.kill("SIGTERM");
    const code = await worker.exit();
    await sleeping;
    expect(code).toBe(0);
    expect(await entryCount(r, "term")).toBe(10);
    expect(await queueDepth(client, queues.queueUrl)).toBe(0);
    expect(worker.stdout()).toContain('"msg":"batch handled"');
    expect(worker.stdout()).toContain('"msg":"stopped"');
    client.destroy();
  }, 30_000);

  test("Redis down at boot: health answers at once, SIGTERM stops it, and it works once Redis is up", async ({
    sqs,
    queues,
  }) => {
    const server = await startRedis({ persistent: true });
    onTestFinished(() => server.dispose());
    await server.stop();
    const client = sqs.client();
    const port = await freePort();
    const env = workerEnv({
      redisUrls: [server.url],
      endpoint: sqs.endpoint,
      ...queues,
      extra: { PORT: String(port) },
    });
    await sendMany(client, queues.queueUrl, envelopes(5, "boot"));
    const first = spawnNode(MAIN, [], env);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, "health answers", 10_000);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
    first.child.kill("SIGTERM");
    expect(await first.exit()).toBe(0);
    expect(await queueDepth(client, queues.queueUrl)).toBe(5);

    const second = spawnWorker(env);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, "health answers", 10_000);
    await server.start();
    const r = await redisClient(server.url);
    await waitFor(async () => (await entryCount(r, "boot")) === 5, "all 5 stored", 20_000, 200);
    second.kill("SIGTERM");
    await exited(second);
    client.destroy();
  }, 60_000);

  test("a 256 MiB heap survives messages that expand to gigabytes (25 keys × 240 KiB each)", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const r = await redisClient(redis.url);
    const port = await freePort();
    const pad = "x".repeat(240 * 1024);
    const count = 40;
    for (let i = 0; i < count; i++) {
      await send(client, queues.queueUrl, {
        accountId: "acme",
        flowId: "big",
        webhookKeys: Array.from({ length: 25 }, (_, k) => `mem-${i}-${k}`),
        data: { i, pad },
      });
    }
    const worker = spawnNode(
      MAIN,
      [],
      workerEnv({
        redisUrls: [redis.url],
        endpoint: sqs.endpoint,
        ...queues,
        extra: { PORT: String(port), INGEST_CONCURRENCY: "16", NODE_OPTIONS: "--max-old-space-size=256" },
      }),
    );
    await waitFor(async () => (await r.dbSize()) === count * 25, "every key stored", 90_000, 500);
    await waitFor(
      async () => (await queueDepth(client, queues.queueUrl)) === 0,
      "queue drained",
      20_000,
      200,
    );
    expect(worker.child.exitCode).toBeNull();
    expect(await queueDepth(client, queues.dlqUrl)).toBe(0);
    worker.child.kill("SIGTERM");
    expect(await worker.exit()).toBe(0);
    client.destroy();
  }, 120_000);

  test("a bad environment stops the process with one message naming every problem", async () => {
    const worker = spawnNode(MAIN, [], { REDIS_URL: "http://nope", INGEST_CONCURRENCY: "0" });
    expect(await worker.exit()).toBe(2);
    expect(worker.stderr()).toContain("REDIS_URL: must be a redis://");
    expect(worker.stderr()).toContain("SQS_QUEUE_URL: is required");
    expect(worker.stderr()).toContain("INGEST_CONCURRENCY: must be at least 1");
  });
});

describe("Redis outage", () => {
  test("Redis stopped in the middle of 1,000 messages and restarted: all 1,000 stored, none dead-lettered", async ({
    sqs,
  }) => {
    const server = await startRedis({ persistent: true });
    onTestFinished(() => server.dispose());
    const client = sqs.client();
    const queues = await createQueueWithDlq(client, `outage-${Date.now()}`, {
      maxReceiveCount: 100,
      visibilityTimeout: 5,
    });
    const worker = await startWorker(
      workerEnv({
        redisUrls: [server.url],
        endpoint: sqs.endpoint,
        ...queues,
        extra: { INGEST_VISIBILITY_TIMEOUT_SECONDS: "5" },
      }),
      client,
    );
    const sending = sendMany(client, queues.queueUrl, envelopes(1000, "out"));
    await waitFor(async () => (await outcomeCount(worker, "stored")) > 100, "some stored", 20_000);
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await server.start();
    await sending;
    const r = await redisClient(server.url);
    await waitFor(async () => (await entryCount(r, "out")) === 1000, "all 1000 stored", 45_000, 250);
    expect(await outcomeCount(worker, "failed")).toBeGreaterThan(0);
    await waitFor(
      async () => (await queueDepth(client, queues.queueUrl)) === 0,
      "queue drained",
      15_000,
      200,
    );
    expect(await queueDepth(client, queues.dlqUrl)).toBe(0);
    client.destroy();
  }, 90_000);
});
