#!/usr/bin/env node
import { SQSClient } from "@aws-sdk/client-sqs";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis, redisConfig } from "@gsk/redis-store";
import { redactUrl } from "@gsk/schema";
import {
  configOrExit,
  createAuthenticator,
  createLogger,
  listen,
  loadApiTokens,
  onShutdown,
} from "@gsk/service";
import { createPolicyStore } from "@gsk/ttl-policy";
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
const lifecycle = { shuttingDown: false };
const deps: Deps = {
  env,
  redis,
  keys,
  entries: createEntryStore(redis, keys),
  policies: createPolicyStore(redis, keys, env.DEFAULT_TTL_SECONDS),
  ...(sqs ? { sqs } : {}),
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
});
