import {
  appEnvSchema,
  commonEnvEntries,
  envBool,
  envHttpUrl,
  envInt,
  envNames,
  limitsEnvEntries,
  mongoEnvEntries,
  parseEnvWith,
  redisEnvEntries,
  sqsEnvEntries,
} from "@gsk/schema";
import * as v from "valibot";

const EnvSchema = v.pipe(
  appEnvSchema({
    ...commonEnvEntries(3000),
    ...redisEnvEntries,
    ...limitsEnvEntries,
    ...sqsEnvEntries,
    ...mongoEnvEntries,
    MONGO_URL: v.optional(mongoEnvEntries.MONGO_URL),
    API_TOKENS: v.optional(v.string()),
    API_TOKENS_FILE: v.optional(v.string()),
    INGRESS_ENABLED: envBool(false),
    SQS_QUEUE_URL: v.optional(envHttpUrl),
    SHUTDOWN_TIMEOUT_MS: envInt(25_000, 1000, 600_000),
    SHUTDOWN_DRAIN_MS: envInt(5000, 0, 120_000),
  }),
  v.forward(
    v.check(
      (env) => !env.INGRESS_ENABLED || env.SQS_QUEUE_URL !== undefined,
      "is required when INGRESS_ENABLED=true",
    ),
    ["SQS_QUEUE_URL"],
  ),
  v.forward(
    v.check(
      (env) => env.SHUTDOWN_DRAIN_MS < env.SHUTDOWN_TIMEOUT_MS,
      "must be shorter than SHUTDOWN_TIMEOUT_MS (the drain is part of the shutdown)",
    ),
    ["SHUTDOWN_DRAIN_MS"],
  ),
);

export type Env = v.InferOutput<typeof EnvSchema>;

/**
 * The Node flags get-api is deployed with (`NODE_OPTIONS` in its Deployment and Compose service;
 * `pnpm bench get` runs every server with them). V8 sizes the young generation from the memory it
 * sees: in a pod limited to 512 MiB, semi-spaces of about 2 MiB, which reads fill so fast that,
 * saturated by wrk, it scavenged 220-400 times a second; medians of five runs: 19.4k reads/s at
 * 49.7 µs of CPU each, against 27.3k at 35.5 µs with 16 MiB (and 24.8k at 38 µs on a 24 GiB host,
 * where V8 chose 64 MiB).
 */
export const NODE_OPTIONS = "--max-semi-space-size=16";

/** Every variable this app reads (deployment files are checked against it). */
export const ENV_NAMES: readonly string[] = envNames(EnvSchema);

/** Parses get-api's environment; throws one error naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  return parseEnvWith(EnvSchema, source);
}
