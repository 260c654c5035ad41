import * as v from "valibot";
import { normalizeRfc3339 } from "./time.ts";

export const DEFAULT_MAX_DATA_BYTES = 262_144;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const WEBHOOK_KEY_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;
const EVENT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** An account or flow id: 1-64 chars of `[A-Za-z0-9._-]`, starting with a letter or digit. */
export const IdSchema = v.pipe(
  v.string("must be a string"),
  v.regex(ID_PATTERN, "must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit"),
);

/** A webhook key: 1-128 chars of `[A-Za-z0-9._~-]`. */
export const WebhookKeySchema = v.pipe(
  v.string("must be a string"),
  v.regex(WEBHOOK_KEY_PATTERN, "must be 1-128 characters of [A-Za-z0-9._~-]"),
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

function isJsonValue(value: unknown): boolean {
  return value !== undefined && typeof value !== "function" && typeof value !== "symbol";
}

/** The message envelope of ARCHITECTURE section 3; `maxDataBytes` bounds the serialized `data`. */
export function createEnvelopeSchema(maxDataBytes = DEFAULT_MAX_DATA_BYTES) {
  return jsonObject({
    accountId: IdSchema,
    flowId: IdSchema,
    webhookKeys: WebhookKeyListSchema,
    data: v.pipe(
      v.unknown(),
      v.check(isJsonValue, "is required and must be a JSON value"),
      v.check(
        (data) => jsonByteLength(data) <= maxDataBytes,
        (issue) => `${TOO_LARGE} ${maxDataBytes} bytes, got ${jsonByteLength(issue.input)}`,
      ),
    ),
    producedAt: v.optional(InstantSchema),
    eventId: v.optional(EventIdSchema),
  });
}

export type EnvelopeSchema = ReturnType<typeof createEnvelopeSchema>;
export type EnvelopeInput = v.InferInput<EnvelopeSchema>;
export type Envelope = v.InferOutput<EnvelopeSchema>;
