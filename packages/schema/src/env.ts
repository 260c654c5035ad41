import * as v from "valibot";
import { DEFAULT_MAX_DATA_BYTES, objectMessage } from "./envelope.ts";
import { DEFAULT_MAX_CLOCK_SKEW_SECONDS } from "./message.ts";
import { describeIssues, type FieldError, toFieldErrors } from "./problems.ts";
import { DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS } from "./ttl.ts";

/** Thrown by `parseEnvWith` with every bad variable listed. */
export class EnvError extends Error {
  readonly problems: FieldError[];
  constructor(problems: FieldError[], message: string) {
    super(message);
    this.name = "EnvError";
    this.problems = problems;
  }
}

type EnvSource = Record<string, string | undefined>;

/** Parses an environment with a schema, reporting every bad variable at once in one message. */
export function parseEnvWith<const S extends v.GenericSchema<EnvSource, unknown>>(
  schema: S,
  source: EnvSource,
): v.InferOutput<S> {
  const blanked: EnvSource = {};
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && value.trim() !== "") blanked[key] = value;
  }
  const result = v.safeParse(schema, blanked);
  if (result.success) return result.output;
  throw new EnvError(toFieldErrors(result.issues), `invalid configuration: ${describeIssues(result.issues)}`);
}

/** An optional integer variable within bounds. */
export function envInt(fallback: number, min: number, max: number) {
  return v.optional(
    v.pipe(
      v.string(),
      v.regex(/^-?\d+$/, "must be an integer"),
      v.transform(Number),
      v.minValue(min, `must be at least ${min}`),
      v.maxValue(max, `must be at most ${max}`),
    ),
    String(fallback),
  );
}

/** An optional boolean variable: `true`/`false` (also `1`/`0`). */
export function envBool(fallback: boolean) {
  return v.optional(
    v.pipe(
      v.picklist(["true", "false", "1", "0"], "must be true or false"),
      v.transform((s) => s === "true" || s === "1"),
    ),
    fallback ? "true" : "false",
  );
}

/** A required variable naming an http(s) URL. */
export const envHttpUrl = v.pipe(
  v.string("is required"),
  v.url("must be a URL"),
  v.regex(/^https?:\/\//, "must be an http:// or https:// URL"),
);

const REDIS_URL = v.pipe(
  v.string("is required"),
  v.transform((s) => s.split(",").map((u) => u.trim())),
  v.check(
    (urls) => urls.every((u) => /^rediss?:\/\/[^\s/]/.test(u) && URL.canParse(u)),
    "must be a redis:// or rediss:// URL, or several comma-separated with REDIS_CLUSTER=true",
  ),
);

/** A Redis key prefix: letters, digits, `.`, `_` and `-` only, so it cannot break the key space. */
export const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/** `REDIS_PREFIX`. */
export const PrefixSchema = v.pipe(
  v.string(),
  v.regex(PREFIX_PATTERN, "must be 1-32 characters of [A-Za-z0-9._-], starting with a letter or digit"),
);

/** The Redis variables shared by every app. */
export const redisEnvEntries = {
  REDIS_URL,
  REDIS_CLUSTER: envBool(false),
  REDIS_PREFIX: v.optional(PrefixSchema, "gsk"),
  // 0 disables the timeout (a hung Redis then hangs every caller): for comparison only.
  REDIS_COMMAND_TIMEOUT_MS: envInt(2000, 0, 60_000),
  REDIS_MIN_REPLICAS: v.optional(
    v.union(
      [v.literal("auto"), v.pipe(v.string(), v.regex(/^\d{1,2}$/), v.transform(Number), v.maxValue(16))],
      "must be auto or a number of replicas from 0 to 16",
    ),
    "auto",
  ),
  REDIS_REPLICA_TIMEOUT_MS: envInt(1000, 10, 60_000),
};

/** An app's env schema: its entries, plus the check that several REDIS_URL nodes need REDIS_CLUSTER=true. */
export function appEnvSchema<const E extends v.ObjectEntries & typeof redisEnvEntries>(entries: E) {
  return v.pipe(
    v.object(entries, objectMessage),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const env = dataset.value as { REDIS_URL: string[]; REDIS_CLUSTER: boolean };
      if (env.REDIS_CLUSTER || env.REDIS_URL.length === 1) return;
      addIssue({
        message: "must be one URL unless REDIS_CLUSTER=true",
        path: [
          { type: "object", origin: "value", input: dataset.value, key: "REDIS_URL", value: env.REDIS_URL },
        ],
      });
    }),
  );
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Variables every app reads: logging and its HTTP listener (PORT 0: a free port). */
export function commonEnvEntries(defaultPort: number) {
  return {
    LOG_LEVEL: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`), "info"),
    PORT: envInt(defaultPort, 0, 65_535),
    HOST: v.optional(v.pipe(v.string(), v.ip("must be an IP address to listen on, e.g. 0.0.0.0")), "0.0.0.0"),
  };
}

/** TTL and size limits shared by the worker and the API. */
export const limitsEnvEntries = {
  DEFAULT_TTL_SECONDS: envInt(DEFAULT_TTL_SECONDS, MIN_TTL_SECONDS, MAX_TTL_SECONDS),
  MAX_DATA_BYTES: envInt(DEFAULT_MAX_DATA_BYTES, 1, 1_048_576),
  MAX_CLOCK_SKEW_SECONDS: envInt(DEFAULT_MAX_CLOCK_SKEW_SECONDS, 0, 86_400),
};

/** SQS variables shared by the worker and the API's gateway mode. */
export const sqsEnvEntries = {
  AWS_REGION: v.optional(
    v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, "must be an AWS region like eu-west-1")),
    "us-east-1",
  ),
  SQS_ENDPOINT: v.optional(envHttpUrl),
};

/**
 * The variable names an app's env schema reads (its object's entries, under any pipes), so
 * deployment files can be checked against them.
 */
export function envNames(schema: v.GenericSchema): string[] {
  let node: v.GenericSchema & { entries?: v.ObjectEntries; pipe?: readonly unknown[] } = schema;
  while (node.entries === undefined) {
    const inner = node.pipe?.[0] as typeof node | undefined;
    if (inner === undefined) throw new Error(`not an object schema: ${node.type}`);
    node = inner;
  }
  return Object.keys(node.entries);
}

/** The archive's MongoDB (the archiver needs it; get-api takes it optionally, for its history route). */
export const mongoEnvEntries = {
  MONGO_URL: v.pipe(
    v.string("is required"),
    v.regex(/^mongodb(\+srv)?:\/\//, "must be a mongodb:// or mongodb+srv:// URL"),
  ),
  MONGO_DB: v.optional(
    v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,63}$/, "must be 1-63 of [A-Za-z0-9_-]")),
    "gsk",
  ),
};

/** Replaces the password of a URL for logging. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}
