import {
  appEnvSchema,
  commonEnvEntries,
  envBool,
  envInt,
  envNames,
  mongoEnvEntries,
  parseEnvWith,
  redisEnvEntries,
} from "@gsk/schema";
import { CronExpressionParser } from "cron-parser";
import * as v from "valibot";

const MAX_RETENTION_DAYS = Math.floor(2_147_483_647 / 86_400);

const EnvSchema = appEnvSchema({
  ...commonEnvEntries(3002),
  ...redisEnvEntries,
  ...mongoEnvEntries,
  API_TOKENS: v.optional(v.string()),
  API_TOKENS_FILE: v.optional(v.string()),
  ARCHIVE_CRON: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\S+( \S+){4,5}$/, "must be a cron pattern of 5 or 6 fields, e.g. 0 2 * * *"),
      v.rawCheck(({ dataset, addIssue }) => {
        if (!dataset.typed) return;
        try {
          CronExpressionParser.parse(dataset.value);
        } catch (error) {
          addIssue({ message: `must be a valid cron pattern (${(error as Error).message})` });
        }
      }),
    ),
    "0 2 * * *",
  ),
  ARCHIVE_TZ: v.optional(
    v.pipe(
      v.string(),
      v.check((tz) => {
        try {
          new Intl.DateTimeFormat("en", { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, "must be an IANA time zone, e.g. UTC or Europe/Paris"),
    ),
    "UTC",
  ),
  ARCHIVE_RETENTION_DAYS: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, "must be a whole number of days"),
      v.transform(Number),
      v.minValue(1, "must be at least 1"),
      // MongoDB's expireAfterSeconds is a 32-bit integer.
      v.maxValue(MAX_RETENTION_DAYS, `must be at most ${MAX_RETENTION_DAYS} (MongoDB's TTL index limit)`),
    ),
  ),
  ARCHIVE_SCAN_COUNT: envInt(1000, 10, 100_000),
  ARCHIVE_ATTEMPTS: envInt(5, 1, 100),
  ARCHIVE_BACKOFF_MS: envInt(30_000, 100, 3_600_000),
  ARCHIVE_BOARD_READ_ONLY: envBool(true),
  SHUTDOWN_TIMEOUT_MS: envInt(25_000, 1000, 600_000),
});

export type Env = v.InferOutput<typeof EnvSchema>;

/**
 * The Node flags the archiver is deployed with (`NODE_OPTIONS` in its Deployment and Compose
 * service; the archive bench runs with them too). V8 sizes the young generation from the memory
 * it sees: semi-spaces of 64 MiB on a 24 GiB host, where they held most of a run's peak RSS
 * (garbage of pages already written, not yet collected), and of about 2 MiB in a pod limited to
 * 512 MiB. A fixed 8 MiB is the same everywhere; on 1M keys it measured a peak RSS of 211-258 MiB
 * instead of 260-366, at a throughput within the run-to-run spread.
 */
export const NODE_OPTIONS = "--max-semi-space-size=8";

/** Every variable this app reads (deployment files are checked against it). */
export const ENV_NAMES: readonly string[] = envNames(EnvSchema);

/** Parses the archiver's environment (app and CLI); throws one error naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  return parseEnvWith(EnvSchema, source);
}
