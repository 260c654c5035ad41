#!/usr/bin/env node
import { SQSClient } from "@aws-sdk/client-sqs";
import { createRedis, redisConfig } from "@gsk/redis-store";
import { redactUrl } from "@gsk/schema";
import { configOrExit, createLogger, onShutdown, startTelemetry } from "@gsk/service";
import { parseEnv } from "./env.ts";
import { createWorker } from "./worker.ts";

const env = configOrExit("ingest-worker", () => parseEnv(process.env));

const logger = createLogger(env.LOG_LEVEL, "ingest-worker");
// Traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; nothing is loaded otherwise.
const stopTelemetry = await startTelemetry("ingest-worker", process.env);
const redis = createRedis(redisConfig(env), (error) => logger.warn({ err: error }, "redis connection error"));
const sqs = new SQSClient({
  region: env.AWS_REGION,
  ...(env.SQS_ENDPOINT ? { endpoint: env.SQS_ENDPOINT } : {}),
});

logger.info(
  {
    redis: env.REDIS_URL.map(redactUrl),
    cluster: env.REDIS_CLUSTER,
    prefix: env.REDIS_PREFIX,
    sqsEndpoint: env.SQS_ENDPOINT,
  },
  "starting",
);
// Signals and the health port come first: a Redis outage at boot must neither get the worker
// killed by its liveness probe nor make it ignore SIGTERM. It receives once Redis answers.
const worker = createWorker({ env, redis, sqs, logger });
onShutdown(logger, env.SHUTDOWN_TIMEOUT_MS, async () => {
  await worker.stop();
  redis.client.destroy();
  sqs.destroy();
  await stopTelemetry();
});
redis.client.connect().catch((error: unknown) => logger.warn({ err: error }, "redis not reachable yet"));
await worker.start();
