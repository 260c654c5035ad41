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

/** A problem inside a JSON value: the keys leading to it (from the value's root) and what is wrong. */
export interface JsonValueProblem {
  path: (string | number)[];
  message: string;
}

function numberProblem(n: number): string | undefined {
  if (!Number.isFinite(n)) return "must be a finite number (this one overflows to infinity)";
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
    return "must be an integer within ±9007199254740991 (2^53-1); a larger one would be stored rounded";
  }
  return undefined;
}

/** An object or array being walked: its keys (none for an array), the next one, and its own key. */
interface Frame {
  container: Record<string | number, unknown>;
  keys: string[] | undefined;
  size: number;
  next: number;
  key: string | number;
}

/**
 * The first problem of a parsed JSON value, found without recursion (so any depth is safe), depth
 * first and in order: nesting deeper than `maxDepth`, or a number that JSON.parse could not hold
 * exactly. Only objects and arrays take memory while walked (a frame each on the way down).
 */
export function jsonValueProblem(value: unknown, maxDepth = MAX_DATA_DEPTH): JsonValueProblem | undefined {
  const frames: Frame[] = [];
  /** The path to `key` of the innermost frame (to the root without one). */
  const pathTo = (key: string | number | undefined) => {
    const path = frames.slice(1).map((frame) => frame.key);
    if (key !== undefined) path.push(key);
    return path;
  };
  /** Checks a value found at `key` of the innermost frame; an object or array is entered. */
  const visit = (item: unknown, key: string | number | undefined): JsonValueProblem | undefined => {
    if (typeof item === "number") {
      const message = numberProblem(item);
      return message ? { path: pathTo(key), message } : undefined;
    }
    if (typeof item !== "object" || item === null) return undefined;
    if (frames.length >= maxDepth) {
      return { path: pathTo(key), message: `must not nest deeper than ${maxDepth} levels` };
    }
    const keys = Array.isArray(item) ? undefined : Object.keys(item);
    const size = keys ? keys.length : (item as unknown[]).length;
    frames.push({ container: item as Frame["container"], keys, size, next: 0, key: key ?? "" });
    return undefined;
  };
  let problem = visit(value, undefined);
  while (!problem && frames.length > 0) {
    const frame = frames[frames.length - 1] as Frame;
    if (frame.next === frame.size) {
      frames.pop();
      continue;
    }
    const key = frame.keys ? (frame.keys[frame.next] as string) : frame.next;
    frame.next++;
    problem = visit(frame.container[key], key);
  }
  return problem;
}

function isJsonValue(value: unknown): boolean {
  return value !== undefined && typeof value !== "function" && typeof value !== "symbol";
}

/** Receives the JSON the size check made of a `data` value it passed, so it need not be made twice. */
export type SerializedData = (data: unknown, json: string) => void;

/** `data`: any JSON value, at most `maxDataBytes` serialized and `MAX_DATA_DEPTH` deep, every number exact. */
function dataSchema(maxDataBytes: number, serialized?: SerializedData) {
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
      const json = JSON.stringify(data);
      // A UTF-16 code unit is at most 3 UTF-8 bytes: only JSON near the limit needs measuring.
      const bytes = json.length * 3 <= maxDataBytes ? 0 : Buffer.byteLength(json, "utf8");
      if (bytes > maxDataBytes) addIssue({ message: `${TOO_LARGE} ${maxDataBytes} bytes, got ${bytes}` });
      else serialized?.(data, json);
    }),
  );
}

/**
 * The message envelope; `maxDataBytes` bounds the serialized `data`, and `serialized` is handed
 * the JSON of each `data` that passes.
 */
export function createEnvelopeSchema(maxDataBytes = DEFAULT_MAX_DATA_BYTES, serialized?: SerializedData) {
  return jsonObject({
    accountId: IdSchema,
    flowId: IdSchema,
    webhookKeys: WebhookKeyListSchema,
    data: dataSchema(maxDataBytes, serialized),
    producedAt: v.optional(InstantSchema),
    eventId: v.optional(EventIdSchema),
  });
}

export type EnvelopeSchema = ReturnType<typeof createEnvelopeSchema>;
export type EnvelopeInput = v.InferInput<EnvelopeSchema>;
export type Envelope = v.InferOutput<EnvelopeSchema>;
