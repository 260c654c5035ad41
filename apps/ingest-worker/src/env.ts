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

/**
 * The Node flags the worker is deployed with (`NODE_OPTIONS` in its Deployment and Compose
 * service; `pnpm bench ingest` runs with them). V8 sizes the young generation from the memory it
 * sees: in a pod limited to 512 MiB, semi-spaces of about 2 MiB, which the SDK's and the worker's
 * allocations fill so fast that the worker handled 2.5-3.2k messages/s in the bench where 16 MiB
 * handled 5.4-5.7k (two rounds each, concurrency 16, on this project's bench machine).
 */
export const NODE_OPTIONS = "--max-semi-space-size=16";

/** Every variable this app reads (deployment files are checked against it). */
export const ENV_NAMES: readonly string[] = envNames(EnvSchema);

/** Parses the worker's environment; throws one error naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  return parseEnvWith(EnvSchema, source);
}
