// A failover to a lagging replica, as managed Redis does it: one address, the replica promoted.
import type { SQSClient } from "@aws-sdk/client-sqs";
import { type QueuePair, queueDepth, redisClient, startReplicatedRedis, test, waitFor } from "@gsk/testing";
import { describe, expect, onTestFinished } from "vitest";
import { outcomeCount, sendMany, startWorker, workerEnv } from "./test-support.ts";

const MESSAGES = 4000;

/**
 * Sends MESSAGES messages while the worker writes them through the proxy; once a quarter are
 * stored, cuts the replica off for 1.5 s, kills the primary, promotes the replica and moves the
 * address. Returns how many messages the promoted replica holds once the queue is drained.
 */
async function failover(
  sqs: { client(): SQSClient; endpoint: string },
  queues: QueuePair,
  minReplicas: string,
) {
  const redis = await startReplicatedRedis();
  onTestFinished(() => redis.dispose());
  const client = sqs.client();
  onTestFinished(() => client.destroy());
  const worker = await startWorker(
    workerEnv({
      redisUrls: [redis.url],
      endpoint: sqs.endpoint,
      ...queues,
      extra: {
        REDIS_MIN_REPLICAS: minReplicas,
        REDIS_REPLICA_TIMEOUT_MS: "300",
        INGEST_VISIBILITY_TIMEOUT_SECONDS: "5",
        INGEST_CONCURRENCY: "8",
      },
    }),
    client,
  );
  const sending = sendMany(
    client,
    queues.queueUrl,
    Array.from({ length: MESSAGES }, (_, i) => ({
      accountId: "acme",
      flowId: "orders",
      webhookKeys: [`fo-${i}`],
      data: { i },
    })),
  );
  await waitFor(
    async () => (await outcomeCount(worker, "stored")) > MESSAGES / 4,
    "a quarter stored",
    60_000,
    20,
  );
  redis.partitionReplica();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await redis.failover();
  await sending;
  await waitFor(async () => (await queueDepth(client, queues.queueUrl)) === 0, "queue drained", 60_000, 250);
  const promoted = await redisClient(redis.replica.url);
  return {
    held: (await promoted.keys("gsk:entry:fo-*")).length,
    dlq: await queueDepth(client, queues.dlqUrl),
  };
}

describe("Redis failover to a lagging replica", () => {
  test("default (REDIS_MIN_REPLICAS=auto): every message is readable on the promoted replica", async ({
    sqs,
    queues,
  }) => {
    const { held, dlq } = await failover(sqs, queues, "auto");
    expect(dlq).toBe(0);
    expect(held).toBe(MESSAGES);
  }, 120_000);

  test("without waiting for replicas the loss is real (so the test above can fail)", async ({
    sqs,
    queues,
  }) => {
    const { held } = await failover(sqs, queues, "0");
    expect(held).toBeLessThan(MESSAGES);
  }, 120_000);
});
