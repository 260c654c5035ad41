import * as v from "valibot";
import { createEnvelopeSchema, type Envelope, isDataTooLarge } from "./envelope.ts";
import { describeIssues, type FieldError, toFieldErrors } from "./problems.ts";
import { formatInstant, parseRfc3339 } from "./time.ts";

/** Why a message is permanently rejected; sent as the `gsk-error-code` attribute. */
export const REJECT_CODES = [
  "invalid_json",
  "invalid_envelope",
  "data_too_large",
  "produced_in_future",
  "account_conflict",
] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

export type ParsedMessage =
  | { ok: true; envelope: Envelope; dataJson: string; producedAtMs: number | undefined }
  | { ok: false; code: Exclude<RejectCode, "account_conflict">; detail: string; errors: FieldError[] };

export const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 300;

/** The limits a message body is held to. */
export interface MessageRules {
  maxDataBytes: number;
  maxClockSkewSeconds: number;
  now: () => number;
}

/**
 * A parser of raw message bodies (an SQS body or a gateway POST): JSON, the envelope schema, and
 * a `producedAt` no later than now plus the allowed clock skew. It never throws.
 */
export function createMessageParser(rules: MessageRules): (body: string) => ParsedMessage {
  // The size check serializes `data`: its JSON is kept from there (the schema hands `data` out
  // unchanged) and dropped after each parse, so no message's data outlives its parse here.
  let checked: unknown;
  let checkedJson: string | undefined;
  const schema = createEnvelopeSchema(rules.maxDataBytes, (data, json) => {
    checked = data;
    checkedJson = json;
  });
  const skewMs = rules.maxClockSkewSeconds * 1000;
  return (body) => {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (error) {
      const reason = body.trim() === "" ? "the body is empty" : (error as Error).message;
      return { ok: false, code: "invalid_json", detail: `not JSON: ${reason}`, errors: [] };
    }
    const result = v.safeParse(schema, json);
    const passedData = checked;
    const passedJson = checkedJson;
    checked = checkedJson = undefined;
    if (!result.success) {
      return {
        ok: false,
        code: isDataTooLarge(result.issues) ? "data_too_large" : "invalid_envelope",
        detail: describeIssues(result.issues),
        errors: toFieldErrors(result.issues),
      };
    }
    const { producedAt } = result.output;
    const producedAtMs = producedAt === undefined ? undefined : parseRfc3339(producedAt);
    const latest = rules.now() + skewMs;
    if (producedAtMs !== undefined && producedAtMs > latest) {
      const message = `must not be later than now plus ${rules.maxClockSkewSeconds} s (${formatInstant(latest)})`;
      return {
        ok: false,
        code: "produced_in_future",
        detail: `producedAt: ${message}`,
        errors: [{ path: "producedAt", message }],
      };
    }
    const envelope = result.output;
    // The check always runs on a valid envelope; were it ever skipped, `data` is serialized here.
    const dataJson =
      passedData === envelope.data && passedJson !== undefined ? passedJson : JSON.stringify(envelope.data);
    return { ok: true, envelope, dataJson, producedAtMs };
  };
}
