import type { SQSClient } from "@aws-sdk/client-sqs";
import type { RedisKeys } from "@gsk/redis-keys";
import type { EntryStore, RedisHandle } from "@gsk/redis-store";
import type { ArchivedEntryDoc } from "@gsk/schema";
import type { Authenticator, Logger, Principal } from "@gsk/service";
import type { PolicyStore } from "@gsk/ttl-policy";
import type { Collection } from "mongodb";
import type { Env } from "./env.ts";
import type { ApiMetrics } from "./metrics.ts";

/** Everything the API needs, built once in main.ts (or by a test). */
export interface Deps {
  env: Env;
  redis: RedisHandle;
  keys: RedisKeys;
  entries: EntryStore;
  policies: PolicyStore;
  /** Present in gateway mode (INGRESS_ENABLED=true). */
  sqs?: SQSClient;
  /** The archive's versions, present when MONGO_URL is set (the history route). */
  archive?: Collection<ArchivedEntryDoc>;
  auth: Authenticator;
  logger: Logger;
  metrics: ApiMetrics;
  now: () => number;
  /** Set when shutdown starts, so readiness fails first. */
  lifecycle: { shuttingDown: boolean };
}

/** Hono's typed context: the deps once per app, the caller once per request. */
export interface AppEnv {
  Variables: { deps: Deps; principal: Principal; reqId: string };
}
