#!/usr/bin/env node
import { createRedis, redisConfig } from "@gsk/redis-store";
import { redactUrl } from "@gsk/schema";
import {
  configOrExit,
  createAuthenticator,
  createLogger,
  loadApiTokens,
  onShutdown,
  startTelemetry,
} from "@gsk/service";
import { MongoClient } from "mongodb";
import { createArchiver } from "./archiver.ts";
import { parseEnv } from "./env.ts";

const { env, tokens } = configOrExit("archiver", () => {
  const env = parseEnv(process.env);
  return { env, tokens: loadApiTokens(env) };
});

const logger = createLogger(env.LOG_LEVEL, "archiver");
// Traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; nothing is loaded otherwise.
const stopTelemetry = await startTelemetry("archiver", process.env);
const redis = createRedis(redisConfig(env), (error) => logger.warn({ err: error }, "redis connection error"));
const mongo = new MongoClient(env.MONGO_URL, { serverSelectionTimeoutMS: 5000 });
logger.info(
  {
    redis: env.REDIS_URL.map(redactUrl),
    mongo: redactUrl(env.MONGO_URL),
    db: env.MONGO_DB,
    tokens: tokens.length,
  },
  "starting",
);
// Signals and the health port come first: a Redis outage at boot must neither get the archiver
// killed by its liveness probe nor make it ignore SIGTERM.
const archiver = createArchiver({ env, redis, mongo, auth: createAuthenticator(tokens), logger });
onShutdown(logger, env.SHUTDOWN_TIMEOUT_MS, async () => {
  await archiver.stop();
  redis.client.destroy();
  await mongo.close();
  await stopTelemetry();
});
redis.client.connect().catch((error: unknown) => logger.warn({ err: error }, "redis not reachable yet"));
// A failed first connect closes the driver's topology for good, so keep trying until one works;
// after that the driver reconnects by itself. Until then the archiver runs, not ready.
void (async () => {
  for (let attempt = 1; ; attempt++) {
    try {
      await mongo.connect();
      logger.info({ attempt }, "mongodb connected");
      return;
    } catch (error) {
      logger.warn({ err: error, attempt }, "mongodb not reachable; retrying in 2 s");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
})();
await archiver.start();
logger.info(
  { board: `http://${env.HOST}:${archiver.port}/admin/queues` },
  "bull-board (token as the Basic password)",
);
