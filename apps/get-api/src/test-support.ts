import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis, type EntryMeta, redisConfig } from "@gsk/redis-store";
import type { ArchivedEntryDoc } from "@gsk/schema";
import { createAuthenticator, createLogger, loadApiTokens } from "@gsk/service";
import { createPolicyStore } from "@gsk/ttl-policy";
import type { Collection } from "mongodb";
import { onTestFinished } from "vitest";
import { createApp } from "./app.ts";
import type { Deps } from "./deps.ts";
import { parseEnv } from "./env.ts";
import { createApiMetrics } from "./metrics.ts";

const sha = (token: string) => createHash("sha256").update(token).digest("hex");

/** Bearer tokens of the test deployment, by name. */
export const TOKENS = {
  reader: "tok-reader-0123456789",
  acme: "tok-acme-reader-0123456789",
  writer: "tok-writer-0123456789",
  admin: "tok-admin-0123456789",
  acmeAdmin: "tok-acme-admin-0123456789",
  deleter: "tok-deleter-0123456789",
  acmeDeleter: "tok-acme-deleter-0123456789",
} as const;

const API_TOKENS = JSON.stringify([
  { id: "reader", sha256: sha(TOKENS.reader), scopes: ["data:read"], accounts: ["*"] },
  { id: "acme", sha256: sha(TOKENS.acme), scopes: ["data:read"], accounts: ["acme"] },
  { id: "writer", sha256: sha(TOKENS.writer), scopes: ["data:write"], accounts: ["*"] },
  { id: "admin", sha256: sha(TOKENS.admin), scopes: ["ttl:admin"], accounts: ["*"] },
  {
    id: "acme-admin",
    sha256: sha(TOKENS.acmeAdmin),
    scopes: ["ttl:admin", "data:write"],
    accounts: ["acme"],
  },
  { id: "deleter", sha256: sha(TOKENS.deleter), scopes: ["data:delete"], accounts: ["*"] },
  {
    id: "acme-deleter",
    sha256: sha(TOKENS.acmeDeleter),
    scopes: ["data:delete", "data:read"],
    accounts: ["acme"],
  },
]);

export const auth = (token: string, extra: Record<string, string> = {}) => ({
  Authorization: `Bearer ${token}`,
  ...extra,
});

export interface ApiOptions {
  redisUrl: string;
  /** The archive's entries collection: mounts the history route. */
  archive?: Collection<ArchivedEntryDoc>;
  sqs?: { client: SQSClient; queueUrl: string };
  extra?: Record<string, string>;
}

/** When the entries `put` writes were produced (an hour ago). */
export const PRODUCED_AT = Date.now() - 3_600_000;

/** A get-api app on real Redis (and SQS in gateway mode); its log lines are collected in `logs`. */
export async function buildApi(options: ApiOptions) {
  const env = parseEnv({
    REDIS_URL: options.redisUrl,
    API_TOKENS,
    LOG_LEVEL: "info",
    ...(options.sqs ? { INGRESS_ENABLED: "true", SQS_QUEUE_URL: options.sqs.queueUrl } : {}),
    ...options.extra,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const redis = createRedis(redisConfig(env), () => {});
  await redis.client.connect();
  onTestFinished(() => redis.client.destroy());
  const keys = redisKeys(env.REDIS_PREFIX);
  const entries = createEntryStore(redis, keys);
  const deps: Deps = {
    env,
    redis,
    keys,
    entries,
    policies: createPolicyStore(redis, keys, env.DEFAULT_TTL_SECONDS),
    ...(options.sqs ? { sqs: options.sqs.client } : {}),
    ...(options.archive ? { archive: options.archive } : {}),
    auth: createAuthenticator(loadApiTokens(env)),
    logger: createLogger("info", "get-api", sink),
    metrics: createApiMetrics(),
    now: Date.now,
    lifecycle: { shuttingDown: false },
  };
  const app = createApp(deps);
  const put = (meta: Partial<EntryMeta> & { webhookKey: string }, data: unknown = { hello: "world" }) =>
    entries.write({
      meta: {
        accountId: "acme",
        flowId: "orders",
        eventId: "e-1",
        producedAt: PRODUCED_AT,
        storedAt: PRODUCED_AT + 1000,
        expiresAt: Date.now() + 3_600_000,
        ...meta,
      },
      dataJson: JSON.stringify(data),
    });
  return { app, logs, put, env, deps };
}

/** A response's JSON body, loosely typed for assertions. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary JSON
export const json = (res: Response): Promise<any> => res.json();
