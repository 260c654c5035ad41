import * as v from "valibot";
import { normalizeRfc3339 } from "./time.ts";

export const DEFAULT_MAX_DATA_BYTES = 262_144;
/** How deep `data` may nest: `[[1]]` has depth 2. */
export const MAX_DATA_DEPTH = 64;

/** An account or flow id. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A webhook key (also the alphabet of every Redis key segment). */
export const WEBHOOK_KEY_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;
/** An event id (also a request id). */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** An account or flow id: 1-64 chars of `[A-Za-z0-9._-]`, starting with a letter or digit. */
export const IdSchema = v.pipe(
  v.string("must be a string"),
  v.regex(ID_PATTERN, "must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit"),
);

/** A webhook key: 1-128 chars of `[A-Za-z0-9._~-]`, not `.` or `..` (a URL path cannot carry those). */
export const WebhookKeySchema = v.pipe(
  v.string("must be a string"),
  v.regex(WEBHOOK_KEY_PATTERN, "must be 1-128 characters of [A-Za-z0-9._~-]"),
  v.check((key) => key !== "." && key !== "..", 'must not be "." or ".." (a URL path cannot name them)'),
);

/** An event id: 1-128 chars of `[A-Za-z0-9._:-]`. */
export const EventIdSchema = v.pipe(
  v.string("must be a string"),
  v.regex(EVENT_ID_PATTERN, "must be 1-128 characters of [A-Za-z0-9._:-]"),
);

/** 1-100 distinct webhook keys. */
export const WebhookKeyListSchema = v.pipe(
  v.array(WebhookKeySchema, "must be an array of webhook keys"),
  v.minLength(1, "must name at least one webhook key"),
  v.maxLength(100, "must name at most 100 webhook keys"),
  v.check((keys) => new Set(keys).size === keys.length, "must not repeat a webhook key"),
);

/** An RFC 3339 date-time with offset, normalized to UTC with millisecond precision. */
export const InstantSchema = v.pipe(
  v.string("must be a string"),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const normalized = normalizeRfc3339(dataset.value);
    if (normalized === undefined) {
      addIssue({ message: "must be an RFC 3339 date-time with offset, e.g. 2026-01-02T03:04:05.678Z" });
      return NEVER;
    }
    return normalized;
  }),
);

const TOO_LARGE = "must serialize to at most";

/** True when the issues include the envelope's `data` size limit. */
export function isDataTooLarge(issues: readonly v.BaseIssue<unknown>[]): boolean {
  return issues.some((issue) => issue.message.startsWith(TOO_LARGE) && v.getDotPath(issue) === "data");
}

/** The message of an object schema issue: "must be a JSON object", "is required" or "is not a known field". */
export function objectMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.expected === "Object") return "must be a JSON object";
  return issue.expected === "never" ? "is not a known field" : "is required";
}

const isJsonObject = (input: unknown) => typeof input === "object" && input !== null && !Array.isArray(input);

/** An object schema that rejects arrays and names missing keys as "is required"; unknown keys are dropped. */
export function jsonObject<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(
    v.custom<Record<string, unknown>>(isJsonObject, "must be a JSON object"),
    v.object(entries, objectMessage),
  );
}

/** Like `jsonObject`, but an unknown key is an error. */
export function strictJsonObject<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(
    v.custom<Record<string, unknown>>(isJsonObject, "must be a JSON object"),
    v.strictObject(entries, objectMessage),
  );
}

/** UTF-8 byte length of a value's JSON serialization. */
export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | undefined;
  key: string | number;
}

/** A problem inside a JSON value: the keys leading to it (from the value's root) and what is wrong. */
export interface JsonValueProblem {
  path: (string | number)[];
  message: string;
}

function pathOf(visit: Visit): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: Visit | undefined = visit; at?.parent; at = at.parent) path.push(at.key);
  return path.reverse();
}

function numberProblem(n: number): string | undefined {
  if (!Number.isFinite(n)) return "must be a finite number (this one overflows to infinity)";
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
    return "must be an integer within ±9007199254740991 (2^53-1); a larger one would be stored rounded";
  }
  return undefined;
}

/**
 * The first problem of a parsed JSON value, found without recursion (so any depth is safe):
 * nesting deeper than `maxDepth`, or a number that JSON.parse could not hold exactly.
 */
export function jsonValueProblem(value: unknown, maxDepth = MAX_DATA_DEPTH): JsonValueProblem | undefined {
  const stack: Visit[] = [{ value, depth: 0, parent: undefined, key: "" }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const current = visit.value;
    if (typeof current === "number") {
      const message = numberProblem(current);
      if (message) return { path: pathOf(visit), message };
      continue;
    }
    if (typeof current !== "object" || current === null) continue;
    const depth = visit.depth + 1;
    if (depth > maxDepth)
      return { path: pathOf(visit), message: `must not nest deeper than ${maxDepth} levels` };
    const entries: [string | number, unknown][] = Array.isArray(current)
      ? current.map((item, i) => [i, item])
      : Object.entries(current);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i] as [string | number, unknown];
      stack.push({ value: item, depth, parent: visit, key });
    }
  }
  return undefined;
}

function isJsonValue(value: unknown): boolean {
  return value !== undefined && typeof value !== "function" && typeof value !== "symbol";
}

/** `data`: any JSON value, at most `maxDataBytes` serialized and `MAX_DATA_DEPTH` deep, every number exact. */
function dataSchema(maxDataBytes: number) {
  return v.pipe(
    v.unknown(),
    v.check(isJsonValue, "is required and must be a JSON value"),
    v.rawCheck(({ dataset, addIssue }) => {
      const data = dataset.value;
      const found = jsonValueProblem(data);
      if (found) {
        let input: unknown = data;
        const path = found.path.map((key) => {
          const container = input as Record<string | number, unknown>;
          input = container[key];
          return { type: "unknown" as const, origin: "value" as const, input: container, key, value: input };
        });
        addIssue({ message: found.message, ...(path.length > 0 ? { path: path as [v.IssuePathItem] } : {}) });
        return;
      }
      // Serializing is safe only now that the depth is known to be bounded.
      const bytes = jsonByteLength(data);
      if (bytes > maxDataBytes) addIssue({ message: `${TOO_LARGE} ${maxDataBytes} bytes, got ${bytes}` });
    }),
  );
}

/** The message envelope; `maxDataBytes` bounds the serialized `data`. */
export function createEnvelopeSchema(maxDataBytes = DEFAULT_MAX_DATA_BYTES) {
  return jsonObject({
    accountId: IdSchema,
    flowId: IdSchema,
    webhookKeys: WebhookKeyListSchema,
    data: dataSchema(maxDataBytes),
    producedAt: v.optional(InstantSchema),
    eventId: v.optional(EventIdSchema),
  });
}

export type EnvelopeSchema = ReturnType<typeof createEnvelopeSchema>;
export type EnvelopeInput = v.InferInput<EnvelopeSchema>;
export type Envelope = v.InferOutput<EnvelopeSchema>;
