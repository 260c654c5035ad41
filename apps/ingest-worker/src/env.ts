import {
  appEnvSchema,
  commonEnvEntries,
  envHttpUrl,
  envInt,
  envNames,
  limitsEnvEntries,
  parseEnvWith,
  redisEnvEntries,
  sqsEnvEntries,
} from "@gsk/schema";
import type * as v from "valibot";

const EnvSchema = appEnvSchema({
  ...commonEnvEntries(3001),
  ...redisEnvEntries,
  ...limitsEnvEntries,
  ...sqsEnvEntries,
  SQS_QUEUE_URL: envHttpUrl,
  SQS_DLQ_URL: envHttpUrl,
  INGEST_CONCURRENCY: envInt(16, 1, 64),
  INGEST_BATCH_SIZE: envInt(10, 1, 10),
  INGEST_WAIT_SECONDS: envInt(20, 0, 20),
  INGEST_VISIBILITY_TIMEOUT_SECONDS: envInt(30, 5, 43_200),
  HEALTH_MAX_POLL_AGE_SECONDS: envInt(120, 10, 3600),
  SHUTDOWN_TIMEOUT_MS: envInt(25_000, 1000, 600_000),
  TTL_CACHE_MS: envInt(2000, 0, 4000),
  INGEST_MAX_INFLIGHT_BYTES: envInt(67_108_864, 1_048_576, 8_589_934_592),
});

export type Env = v.InferOutput<typeof EnvSchema>;

/** Every variable this app reads (deployment files are checked against it). */
export const ENV_NAMES: readonly string[] = envNames(EnvSchema);

/** Parses the worker's environment; throws one error naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  return parseEnvWith(EnvSchema, source);
}
