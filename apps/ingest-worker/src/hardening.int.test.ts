// Hostile input and unlucky dependencies: every message is decided alone and nothing is lost.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore } from "@gsk/redis-store";
import {
  createQueueWithDlq,
  drainQueue,
  isoFromNow,
  queueDepth,
  redisClient,
  startRedis,
  test,
  waitFor,
} from "@gsk/testing";
import { createCachedResolver, type TtlResolver } from "@gsk/ttl-policy";
import { describe, expect, onTestFinished } from "vitest";
import { createByteBudget } from "./budget.ts";
import { createIngest } from "./ingest.ts";
import { createMetrics } from "./metrics.ts";
import {
  outcomeCount,
  redisHandle,
  send,
  sendMany,
  startWorker,
  workerEnv,
  workerOn,
} from "./test-support.ts";

const envelope = (over: Record<string, unknown> = {}) => ({
  accountId: "acme",
  flowId: "orders",
  webhookKeys: ["hook"],
  data: { ok: true },
  ...over,
});

const errorCode = (m: { MessageAttributes?: Record<string, { StringValue?: string }> }) =>
  m.MessageAttributes?.["gsk-error-code"]?.StringValue;
const errorDetail = (m: { MessageAttributes?: Record<string, { StringValue?: string }> }) =>
  m.MessageAttributes?.["gsk-error-detail"]?.StringValue ?? "";

/** The worker's message handling on its own, on a test's Redis, with the resolver `wrap` makes of the real one. */
async function ingestOn(
  redisUrl: string,
  sqsServer: { client(): SQSClient },
  dlqUrl: string,
  wrap: (real: TtlResolver) => TtlResolver = (real) => real,
) {
  const sqs = sqsServer.client();
  onTestFinished(() => sqs.destroy());
  const handle = await redisHandle(redisUrl);
  const keys = redisKeys("gsk");
  const real = createCachedResolver(handle.client, keys, { defaultTtlSeconds: 3600, maxAgeMs: 0 });
  return createIngest({
    store: createEntryStore(handle, keys),
    resolver: wrap(real),
    sqs,
    dlqUrl,
    maxDataBytes: 262_144,
    maxClockSkewSeconds: 300,
    metrics: createMetrics(),
    now: Date.now,
    budget: createByteBudget(64 << 20),
    confirmWrites: (webhookKeys) => handle.confirmWrites(webhookKeys.map((k) => keys.entry(k))),
  });
}

/** The bytes the heap and the buffers outside it hold after a full collection. */
function heapAfterGc(): number {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

describe("hostile messages", () => {
  test("a message nested 20,000 deep goes to the DLQ with its code; its batch-mates are stored and deleted", async ({
    redis,
    sqs,
    queues,
  }) => {
    const client = sqs.client();
    const r = await redisClient(redis.url);
    const deep = `{"accountId":"acme","flowId":"f","webhookKeys":["deep"],"data":${"[".repeat(20_000)}${"]".repeat(20_000)}}`;
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: [
          { Id: "deep", MessageBody: deep },
          ...Array.from({ length: 9 }, (_, i) => ({
            Id: `ok${i}`,
            MessageBody: JSON.stringify(envelope({ webhookKeys: [`mate-${i}`] })),
          })),
        ],
      }),
    );
    const worker = await startWorker(
      workerEnv({
        redisUrls: [redis.url],
        endpoint: sqs.endpoint,
        ...queues,
        extra: { INGEST_CONCURRENCY: "1" },
      }),
      client,
    );
    await waitFor(async () => (await outcomeCount(worker, "stored")) === 9, "9 stored");
    await waitFor(async () => (await queueDepth(client, queues.queueUrl)) === 0, "source queue emptied");
    expect((await r.keys("gsk:entry:mate-*")).length).toBe(9);
    const [dead] = await drainQueue(client, queues.dlqUrl);
    expect(errorCode(dead!)).toBe("invalid_envelope");
    expect(errorDetail(dead!)).toContain("must not nest deeper than 64 levels");
    expect(dead!.Body).toBe(deep);
    expect(await outcomeCount(worker, "failed")).toBe(0);
    client.destroy();
  });

  test("numbers JSON cannot carry exactly, producedAt in the future and keys '.'/'..' are rejected, not stored changed", async ({
    redis,
    sqs,
    queues,
  }) => {
    const r = await redisClient(redis.url);
    const { client, worker } = await workerOn({ redisUrl: redis.url, sqs, queues });
    await send(
      client,
      queues.queueUrl,
      '{"accountId":"a","flowId":"f","webhookKeys":["big"],"data":{"n":9007199254740993}}',
    );
    await send(
      client,
      queues.queueUrl,
      '{"accountId":"a","flowId":"f","webhookKeys":["inf"],"data":[1e400]}',
    );
    await send(
      client,
      queues.queueUrl,
      envelope({ webhookKeys: ["future"], producedAt: "9999-12-31T23:59:59Z" }),
    );
    await send(client, queues.queueUrl, envelope({ webhookKeys: [".."] }));
    await waitFor(async () => (await outcomeCount(worker, "rejected")) === 4, "4 rejected");
    const dead = [];
    while (dead.length < 4) dead.push(...(await drainQueue(client, queues.dlqUrl)));
    const byKey = Object.fromEntries(dead.map((m) => [JSON.parse(m.Body!).webhookKeys[0], m]));
    expect(errorCode(byKey.big!)).toBe("invalid_envelope");
    expect(errorDetail(byKey.big!)).toMatch(/^data\.n: must be an integer within/);
    expect(errorDetail(byKey.inf!)).toMatch(/^data\.0: must be a finite number/);
    expect(errorCode(byKey.future!)).toBe("produced_in_future");
    expect(errorCode(byKey[".."]!)).toBe("invalid_envelope");
    expect(await r.dbSize()).toBe(0);
  });

  test("a key holds one account's data: another account's message writes its other keys and goes to the DLQ as account_conflict", async ({
    redis,
    sqs,
    queues,
  }) => {
    const r = await redisClient(redis.url);
    const { client, worker } = await workerOn({ redisUrl: redis.url, sqs, queues });
    await send(client, queues.queueUrl, envelope({ webhookKeys: ["shared"], data: "acme's" }));
    await waitFor(async () => (await outcomeCount(worker, "stored")) === 1, "acme stored");
    await send(
      client,
      queues.queueUrl,
      envelope({ accountId: "rival", webhookKeys: ["shared", "rival-own"], data: "rival's" }),
    );
    await waitFor(async () => (await outcomeCount(worker, "rejected")) === 1, "rival rejected");
    expect(JSON.parse((await r.hGet("gsk:entry:shared", "b"))!)).toMatchObject({
      accountId: "acme",
      data: "acme's",
    });
    expect(JSON.parse((await r.hGet("gsk:entry:rival-own", "b"))!)).toMatchObject({ accountId: "rival" });
    const [dead] = await drainQueue(client, queues.dlqUrl);
    expect(errorCode(dead!)).toBe("account_conflict");
    expect(errorDetail(dead!)).toBe("webhook keys held by another account's live entry: shared");
  });

  test("the DLQ copy of a message near the queue's size limit fits: the detail is shortened", async ({
    redis,
    sqs,
  }) => {
    const client = sqs.client();
    const queues = await createQueueWithDlq(client, `small-${Date.now()}`, { maxMessageSize: 4096 });
    const worker = await startWorker(
      workerEnv({ redisUrls: [redis.url], endpoint: sqs.endpoint, ...queues }),
      client,
    );
    const body = JSON.stringify(
      envelope({
        webhookKeys: Array.from({ length: 100 }, (_, i) => `bad key ${i}`),
        data: "x".repeat(2300),
      }),
    );
    expect(Buffer.byteLength(body)).toBeGreaterThan(3500);
    await send(client, queues.queueUrl, body);
    await waitFor(async () => (await outcomeCount(worker, "rejected")) === 1, "rejected");
    const [dead] = await drainQueue(client, queues.dlqUrl);
    expect(dead!.Body).toBe(body);
    expect(errorCode(dead!)).toBe("invalid_envelope");
    expect(errorDetail(dead!)).toMatch(/^webhookKeys\.0: must be 1-128 characters/);
    expect(await outcomeCount(worker, "failed")).toBe(0);
    client.destroy();
  });

  test("an unexpected exception in one message's handling fails that message only", async ({
    redis,
    sqs,
    queues,
  }) => {
    const ingest = await ingestOn(redis.url, sqs, queues.dlqUrl, (real) => ({
      // A bug that only one account's messages hit.
      resolve: (accountId, flowId) => {
        if (accountId === "buggy") throw new TypeError("Cannot read properties of undefined");
        return real.resolve(accountId, flowId);
      },
    }));
    const messages = ["a", "buggy", "b"].map((accountId, i) => ({
      MessageId: `m${i}`,
      Body: JSON.stringify(envelope({ accountId, webhookKeys: [`k-${accountId}`] })),
    }));
    const { acked, counts, errors } = await ingest(messages);
    expect(acked.map((m) => m.MessageId)).toEqual(["m0", "m2"]);
    expect(counts).toMatchObject({ stored: 2, failed: 1 });
    expect(String(errors[0])).toContain("TypeError");
    const r = await redisClient(redis.url);
    expect((await r.keys("gsk:entry:*")).sort()).toEqual(["gsk:entry:k-a", "gsk:entry:k-b"]);
  });
});

describe("Redis hung or down", () => {
  test("Redis slow to answer: a waiting message holds its data once (the bytes being written), not also parsed and serialized", async ({
    redis,
    sqs,
    queues,
  }) => {
    const ingest = await ingestOn(redis.url, sqs, queues.dlqUrl);
    const DATA_CHARS = 200_000;
    const messages = Array.from({ length: 16 }, (_, i) => ({
      MessageId: `m${i}`,
      Body: JSON.stringify(envelope({ webhookKeys: [`big-${i}`], data: { i, pad: "y".repeat(DATA_CHARS) } })),
    }));
    // The received bodies are held by the batch whatever happens: they are in the baseline.
    const before = heapAfterGc();
    await redis.cli("CLIENT", "PAUSE", "1500", "WRITE");
    const handled = ingest(messages);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const heldPerMessage = (heapAfterGc() - before) / messages.length;
    const { counts } = await handled;
    expect(counts.stored).toBe(16);
    // One copy is the entry being written (kept for the EVAL fallback); before, the parsed data
    // and its JSON were held as well: about three copies.
    expect(heldPerMessage / DATA_CHARS).toBeGreaterThan(0.8);
    expect(heldPerMessage / DATA_CHARS).toBeLessThan(1.8);
  });

  test("Redis paused longer than the command timeout: messages wait, then all are stored once, none dead-lettered", async ({
    redis,
    sqs,
    queues,
  }) => {
    const r = await redisClient(redis.url);
    const { client, worker } = await workerOn(
      { redisUrl: redis.url, sqs, queues },
      { REDIS_COMMAND_TIMEOUT_MS: "300", INGEST_VISIBILITY_TIMEOUT_SECONDS: "5" },
    );
    await send(client, queues.queueUrl, envelope({ webhookKeys: ["before"] }));
    await waitFor(async () => (await outcomeCount(worker, "stored")) === 1, "first stored");
    await redis.cli("CLIENT", "PAUSE", "3000", "ALL");
    const bodies = Array.from({ length: 30 }, (_, i) =>
      envelope({ webhookKeys: [`paused-${i}`], data: i, producedAt: isoFromNow(-1000), eventId: `e${i}` }),
    );
    await sendMany(client, queues.queueUrl, bodies);
    await waitFor(async () => (await outcomeCount(worker, "failed")) > 0, "a write timed out", 5000, 50);
    await waitFor(
      async () => (await r.keys("gsk:entry:paused-*")).length === 30,
      "all 30 stored",
      30_000,
      200,
    );
    await waitFor(
      async () => (await queueDepth(client, queues.queueUrl)) === 0,
      "queue drained",
      15_000,
      200,
    );
    for (let i = 0; i < 30; i++) {
      expect(JSON.parse((await r.hGet(`gsk:entry:paused-${i}`, "b"))!)).toMatchObject({
        data: i,
        eventId: `e${i}`,
      });
    }
    expect(await queueDepth(client, queues.dlqUrl)).toBe(0);
  }, 60_000);

  test("Redis down longer than maxReceiveCount × visibility timeout: receiving pauses, nothing is dead-lettered", async ({
    sqs,
  }) => {
    const server = await startRedis({ persistent: true });
    onTestFinished(() => server.dispose());
    const client = sqs.client();
    const queues = await createQueueWithDlq(client, `long-outage-${Date.now()}`, {
      maxReceiveCount: 2,
      visibilityTimeout: 5,
    });
    const worker = await startWorker(
      workerEnv({
        redisUrls: [server.url],
        endpoint: sqs.endpoint,
        ...queues,
        extra: { INGEST_VISIBILITY_TIMEOUT_SECONDS: "5", REDIS_COMMAND_TIMEOUT_MS: "500" },
      }),
      client,
    );
    await send(client, queues.queueUrl, envelope({ webhookKeys: ["warm"] }));
    await waitFor(async () => (await outcomeCount(worker, "stored")) === 1, "warm stored");
    await server.stop();
    await sendMany(
      client,
      queues.queueUrl,
      Array.from({ length: 50 }, (_, i) => envelope({ webhookKeys: [`down-${i}`] })),
    );
    // 2 receives × 5 s would dead-letter everything a worker kept receiving and failing.
    await new Promise((resolve) => setTimeout(resolve, 13_000));
    expect((await worker.metrics.paused.get()).values[0]?.value).toBe(1);
    await server.start();
    const r = await redisClient(server.url);
    await waitFor(async () => (await r.keys("gsk:entry:down-*")).length === 50, "all 50 stored", 30_000, 250);
    await waitFor(async () => (await queueDepth(client, queues.queueUrl)) === 0, "drained", 15_000, 200);
    expect(await queueDepth(client, queues.dlqUrl)).toBe(0);
    client.destroy();
  }, 90_000);
});
