import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createRedis, redisConfig } from "@gsk/redis-store";
import { createLogger } from "@gsk/service";
import { onTestFinished } from "vitest";
import { parseEnv } from "./env.ts";
import { createWorker } from "./worker.ts";

const TEST_AWS_ENV = {
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  AWS_REGION: "us-east-1",
};

/** The environment a test worker runs with. */
export function workerEnv(options: {
  redisUrls: string[];
  cluster?: boolean;
  endpoint: string;
  queueUrl: string;
  dlqUrl: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    ...TEST_AWS_ENV,
    REDIS_URL: options.redisUrls.join(","),
    REDIS_CLUSTER: String(options.cluster ?? false),
    SQS_ENDPOINT: options.endpoint,
    SQS_QUEUE_URL: options.queueUrl,
    SQS_DLQ_URL: options.dlqUrl,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    INGEST_WAIT_SECONDS: "1",
    INGEST_CONCURRENCY: "2",
    ...options.extra,
  };
}

/** A connected Redis handle, destroyed when the test ends. */
export async function redisHandle(url: string) {
  const handle = createRedis({ urls: [url], cluster: false }, () => {});
  await handle.client.connect();
  onTestFinished(() => handle.client.destroy());
  return handle;
}

/** Starts an in-process worker and stops it when the test ends. */
export async function startWorker(env: Record<string, string>, sqs: SQSClient) {
  const parsed = parseEnv(env);
  const redis = createRedis(redisConfig(parsed), () => {});
  await redis.client.connect();
  const worker = createWorker({ env: parsed, redis, sqs, logger: createLogger("silent", "test") });
  await worker.start();
  onTestFinished(async () => {
    await worker.stop();
    redis.client.destroy();
  });
  return worker;
}

/** A worker on a test's Redis, fauxqs and queues (with extra variables), and an SQS client for the test. */
export async function workerOn(
  fixtures: {
    redisUrl: string;
    sqs: { client(): SQSClient; endpoint: string };
    queues: { queueUrl: string; dlqUrl: string };
  },
  extra: Record<string, string> = {},
) {
  const client = fixtures.sqs.client();
  onTestFinished(() => client.destroy());
  const env = workerEnv({
    redisUrls: [fixtures.redisUrl],
    endpoint: fixtures.sqs.endpoint,
    ...fixtures.queues,
    extra,
  });
  return { client, worker: await startWorker(env, client) };
}

/** Sends one message body (an object is JSON-encoded). */
export async function send(sqs: SQSClient, queueUrl: string, body: unknown): Promise<string> {
  const out = await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
  return out.MessageId!;
}

/** Sends many envelopes, ten per SendMessageBatch. */
export async function sendMany(sqs: SQSClient, queueUrl: string, bodies: unknown[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: JSON.stringify(b) })),
      }),
    );
  }
}

/** The count of messages the worker handled with this outcome. */
export async function outcomeCount(
  worker: {
    metrics: {
      messages: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> };
    };
  },
  outcome: string,
): Promise<number> {
  const { values } = await worker.metrics.messages.get();
  return values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}
