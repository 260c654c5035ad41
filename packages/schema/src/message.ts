import * as v from "valibot";
import { type Envelope, type EnvelopeSchema, isDataTooLarge } from "./envelope.ts";
import { describeIssues, type FieldError, toFieldErrors } from "./problems.ts";

/** Why a message is permanently rejected; sent as the `gsk-error-code` attribute. */
export type RejectCode = "invalid_json" | "invalid_envelope" | "data_too_large";

export type ParsedMessage =
  | { ok: true; envelope: Envelope; dataJson: string }
  | { ok: false; code: RejectCode; detail: string; errors: FieldError[] };

/** Parses and validates a raw message body (an SQS body or a gateway POST) against the envelope. */
export function parseMessage(schema: EnvelopeSchema, body: string): ParsedMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    const reason = body.trim() === "" ? "the body is empty" : (error as Error).message;
    return { ok: false, code: "invalid_json", detail: `not JSON: ${reason}`, errors: [] };
  }
  const result = v.safeParse(schema, json);
  if (!result.success) {
    return {
      ok: false,
      code: isDataTooLarge(result.issues) ? "data_too_large" : "invalid_envelope",
      detail: describeIssues(result.issues),
      errors: toFieldErrors(result.issues),
    };
  }
  return { ok: true, envelope: result.output, dataJson: JSON.stringify(result.output.data) };
}
