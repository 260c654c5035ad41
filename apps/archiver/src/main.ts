import { createRedis } from "@gsk/redis-store";
import { EnvError, redactUrl } from "@gsk/schema";
import { createAuthenticator, createLogger, loadApiTokens, onShutdown } from "@gsk/service";
import { MongoClient } from "mongodb";
import { createArchiver } from "./archiver.ts";
import { parseEnv } from "./env.ts";

let env: ReturnType<typeof parseEnv>;
let tokens: ReturnType<typeof loadApiTokens>;
try {
  env = parseEnv(process.env);
  tokens = loadApiTokens(env);
} catch (error) {
  if (!(error instanceof EnvError)) throw error;
  process.stderr.write(`archiver: ${error.message}\n`);
  process.exit(2);
}

const logger = createLogger(env.LOG_LEVEL, "archiver");
const redis = createRedis({ urls: env.REDIS_URL, cluster: env.REDIS_CLUSTER }, (error) =>
  logger.warn({ err: error }, "redis connection error"),
);
// The driver connects on first use and reconnects by itself; MongoDB being down at start only
// makes the archiver not ready.
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
await redis.redis.connect();
const archiver = createArchiver({ env, redis, mongo, auth: createAuthenticator(tokens), logger });
await archiver.start();
logger.info(
  { board: `http://${env.HOST}:${archiver.port}/admin/queues` },
  "bull-board (token as the Basic password)",
);
onShutdown(logger, env.SHUTDOWN_TIMEOUT_MS, async () => {
  await archiver.stop();
  await redis.redis.close();
  await mongo.close();
});
