import { createHash } from "node:crypto";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis, type EntryMeta, redisConfig } from "@gsk/redis-store";
import { createAuthenticator, createLogger, loadApiTokens } from "@gsk/service";
import type { MongoInstance } from "@gsk/testing";
import { waitFor } from "@gsk/testing";
import { onTestFinished } from "vitest";
import { createArchiver } from "./archiver.ts";
import type { RunDoc } from "./collections.ts";
import { parseEnv } from "./env.ts";

export const ADMIN_TOKEN = "archive-admin-token-123";
export const READER_TOKEN = "data-reader-token-123";
const sha = (t: string) => createHash("sha256").update(t).digest("hex");
const API_TOKENS = JSON.stringify([
  { id: "admin", sha256: sha(ADMIN_TOKEN), scopes: ["archive:admin"], accounts: ["*"] },
  { id: "reader", sha256: sha(READER_TOKEN), scopes: ["data:read"], accounts: ["*"] },
]);

export function archiverEnv(redisUrls: string[], mongo: MongoInstance, extra: Record<string, string> = {}) {
  return {
    REDIS_URL: redisUrls.join(","),
    REDIS_CLUSTER: String(redisUrls.length > 1),
    MONGO_URL: mongo.url,
    MONGO_DB: mongo.dbName,
    API_TOKENS,
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    ARCHIVE_BACKOFF_MS: "300",
    ARCHIVE_SCAN_COUNT: "100",
    ...extra,
  };
}

/** Empties the archive collections of this file's database. */
export async function resetArchive(mongo: MongoInstance) {
  for (const name of ["entries", "policies", "runs"])
    await mongo.db
      .collection(name)
      .drop()
      .catch(() => {});
}

/** Starts an archiver in this process; stopped when the test ends. */
export async function startArchiver(
  raw: Record<string, string>,
  mongo: MongoInstance,
  options: { start?: boolean } = {},
) {
  const env = parseEnv(raw);
  const redis = createRedis(redisConfig(env), () => {});
  await redis.client.connect();
  const archiver = createArchiver({
    env,
    redis,
    mongo: mongo.client,
    auth: createAuthenticator(loadApiTokens(env)),
    logger: createLogger("silent", "archiver"),
  });
  if (options.start !== false) await archiver.start();
  onTestFinished(async () => {
    await archiver.stop();
    redis.client.destroy();
  });
  const keys = redisKeys(env.REDIS_PREFIX);
  return { archiver, redis, env, entries: createEntryStore(redis, keys), keys };
}

/** When the entries of `meta` were produced, by default (a whole second, an hour ago). */
export const PRODUCED_AT = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

/** Entry fields with defaults. */
export function meta(over: Partial<EntryMeta> & { webhookKey: string }): EntryMeta {
  return {
    accountId: "acme",
    flowId: "orders",
    eventId: "e-1",
    producedAt: PRODUCED_AT,
    storedAt: PRODUCED_AT + 1000,
    expiresAt: Math.floor(Date.now() / 1000) * 1000 + 3_600_000,
    ...over,
  };
}

/** Queues a manual run over HTTP and waits for its `runs` document to finish. */
export async function runNow(archiver: ReturnType<typeof createArchiver>): Promise<RunDoc> {
  const res = await archiver.app.request("/admin/archive/runs", {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  if (res.status !== 202) throw new Error(`run not queued: ${res.status} ${await res.text()}`);
  const { runId } = (await res.json()) as { runId: string };
  return waitFor(
    async () => {
      const doc = await archiver.archive.runs.findOne({ _id: runId });
      return doc && doc.status === "succeeded" ? doc : undefined;
    },
    `run ${runId} to succeed`,
    30_000,
    100,
  );
}
