#!/usr/bin/env node
import { SQSClient } from "@aws-sdk/client-sqs";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis, redisConfig } from "@gsk/redis-store";
import { type ArchivedEntryDoc, ENTRIES_COLLECTION, redactUrl } from "@gsk/schema";
import {
  configOrExit,
  createAuthenticator,
  createLogger,
  listen,
  loadApiTokens,
  onShutdown,
  startTelemetry,
} from "@gsk/service";
import { createPolicyStore } from "@gsk/ttl-policy";
import { MongoClient } from "mongodb";
import { createApp } from "./app.ts";
import type { Deps } from "./deps.ts";
import { parseEnv } from "./env.ts";
import { createFastRead } from "./fast-read.ts";
import { createApiMetrics } from "./metrics.ts";

const { env, tokens } = configOrExit("get-api", () => {
  const env = parseEnv(process.env);
  return { env, tokens: loadApiTokens(env) };
});

const logger = createLogger(env.LOG_LEVEL, "get-api");
// Traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; nothing is loaded otherwise.
const stopTelemetry = await startTelemetry("get-api", process.env);
const redis = createRedis(redisConfig(env), (error) => logger.warn({ err: error }, "redis connection error"));
const keys = redisKeys(env.REDIS_PREFIX);
const sqs = env.INGRESS_ENABLED
  ? new SQSClient({
      region: env.AWS_REGION,
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 2000, requestTimeout: 5000 },
      ...(env.SQS_ENDPOINT ? { endpoint: env.SQS_ENDPOINT } : {}),
    })
  : undefined;
// The archive, for the history route only: it connects on first use and reconnects by itself; an
// operation fails within a few seconds while MongoDB is unreachable (503 on that route alone).
const mongo = env.MONGO_URL
  ? new MongoClient(env.MONGO_URL, { serverSelectionTimeoutMS: 2000, timeoutMS: 5000 })
  : undefined;
const lifecycle = { shuttingDown: false };
const deps: Deps = {
  env,
  redis,
  keys,
  entries: createEntryStore(redis, keys),
  policies: createPolicyStore(redis, keys, env.DEFAULT_TTL_SECONDS),
  ...(sqs ? { sqs } : {}),
  ...(mongo ? { archive: mongo.db(env.MONGO_DB).collection<ArchivedEntryDoc>(ENTRIES_COLLECTION) } : {}),
  auth: createAuthenticator(tokens),
  logger,
  metrics: createApiMetrics(),
  now: Date.now,
  lifecycle,
};
const app = createApp(deps);

logger.info(
  {
    redis: env.REDIS_URL.map(redactUrl),
    cluster: env.REDIS_CLUSTER,
    ingress: env.INGRESS_ENABLED,
    archive: env.MONGO_URL ? redactUrl(env.MONGO_URL) : "off",
    tokens: tokens.length,
  },
  "starting",
);
// Redis may be down at start: the API still listens, answers 503 and reconnects.
redis.client.connect().catch((error: unknown) => logger.warn({ err: error }, "redis not reachable yet"));
const server = await listen(app, env.PORT, env.HOST, createFastRead(deps));
logger.info({ port: server.port }, "get-api listening");
onShutdown(logger, env.SHUTDOWN_TIMEOUT_MS, async () => {
  // Readiness fails first; requests keep being served while load balancers notice, then the
  // listener closes and in-flight requests finish.
  lifecycle.shuttingDown = true;
  await new Promise((resolve) => setTimeout(resolve, env.SHUTDOWN_DRAIN_MS));
  await server.close();
  await redis.client.close();
  sqs?.destroy();
  await mongo?.close();
  await stopTelemetry();
});
