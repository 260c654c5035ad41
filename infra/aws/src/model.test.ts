import { createEnvelopeSchema } from "@gsk/schema";
import { isoFromNow } from "@gsk/testing/servers";
import Ajv04 from "ajv-draft-04";
import addFormats from "ajv-formats";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { envelopeModelSchema, toDraft04 } from "./model.ts";

const base = { accountId: "acme", flowId: "orders", webhookKeys: ["k1"], data: { n: 1 } };

/** Envelopes both validators must judge alike: every rule JSON Schema can state. */
const CORPUS: [string, unknown][] = [
  ["minimal", base],
  ["every field", { ...base, eventId: "evt:1.a-b_c", producedAt: isoFromNow(-60) }],
  ["offset producedAt", { ...base, producedAt: "2020-05-06T07:08:09.123+02:00" }],
  ["unicode data", { ...base, data: { text: "日本 😀 línea\nnext", amp: "a&b=c+d" } }],
  ["any JSON data", { ...base, data: [null, true, 0, "", {}, []] }],
  ["null data", { ...base, data: null }],
  ["100 keys", { ...base, webhookKeys: Array.from({ length: 100 }, (_, i) => `k${i}`) }],
  ["128-char key", { ...base, webhookKeys: ["k".repeat(128)] }],
  ["64-char account", { ...base, accountId: "a".repeat(64) }],
  ["unknown field", { ...base, extra: 1 }],
  ["not an object", []],
  ["a string", "envelope"],
  ["no accountId", { flowId: "f", webhookKeys: ["k"], data: 1 }],
  ["no flowId", { accountId: "a", webhookKeys: ["k"], data: 1 }],
  ["no keys", { accountId: "a", flowId: "f", data: 1 }],
  ["no data", { accountId: "a", flowId: "f", webhookKeys: ["k"] }],
  ["empty accountId", { ...base, accountId: "" }],
  ["65-char account", { ...base, accountId: "a".repeat(65) }],
  ["account starting with -", { ...base, accountId: "-acme" }],
  ["account with a space", { ...base, accountId: "ac me" }],
  ["numeric accountId", { ...base, accountId: 12 }],
  ["flow with a slash", { ...base, flowId: "a/b" }],
  ["empty keys", { ...base, webhookKeys: [] }],
  ["101 keys", { ...base, webhookKeys: Array.from({ length: 101 }, (_, i) => `k${i}`) }],
  ["duplicate keys", { ...base, webhookKeys: ["k", "k"] }],
  ["key .", { ...base, webhookKeys: ["."] }],
  ["key ..", { ...base, webhookKeys: [".."] }],
  ["key with a slash", { ...base, webhookKeys: ["a/b"] }],
  ["129-char key", { ...base, webhookKeys: ["k".repeat(129)] }],
  ["numeric key", { ...base, webhookKeys: [1] }],
  ["keys not an array", { ...base, webhookKeys: "k" }],
  ["eventId with a space", { ...base, eventId: "a b" }],
  ["empty eventId", { ...base, eventId: "" }],
  ["producedAt without zone", { ...base, producedAt: "2026-01-01T00:00:00" }],
  ["producedAt a date only", { ...base, producedAt: "2026-01-01" }],
  ["producedAt a number", { ...base, producedAt: 1_700_000_000 }],
];

/**
 * Rules the model cannot state (the worker and gateway mode enforce them; the worker dead-letters
 * with the code named): the model lets these through, the valibot schema does not.
 */
const BEYOND_JSON_SCHEMA: [string, unknown][] = [
  ["data_too_large", { ...base, data: "x".repeat(262_145) }],
  [
    "invalid_envelope (nested deeper than 64)",
    { ...base, data: JSON.parse(`${"[".repeat(70)}${"]".repeat(70)}`) },
  ],
  ["invalid_envelope (an integer beyond 2^53)", { ...base, data: 2 ** 60 }],
];

function validators() {
  const ajv = new Ajv04.default({ strict: true, allErrors: true });
  addFormats.default(ajv, ["date-time"]);
  const { schema: draft, ...model } = envelopeModelSchema() as Record<string, unknown>;
  expect(draft).toBe("http://json-schema.org/draft-04/schema#");
  const gateway = ajv.compile(model);
  const envelope = createEnvelopeSchema();
  return { gateway: (x: unknown) => gateway(x), worker: (x: unknown) => v.safeParse(envelope, x).success };
}

describe("the API Gateway model (JSON Schema draft-04, checked with ajv-draft-04)", () => {
  const { gateway, worker } = validators();

  it.each(CORPUS)("judges %s as the valibot schema does", (_, envelope) => {
    expect(gateway(envelope)).toBe(worker(envelope));
  });

  it("accepts and rejects in the corpus (both verdicts are exercised)", () => {
    const verdicts = new Set(CORPUS.map(([, e]) => worker(e)));
    expect(verdicts).toEqual(new Set([true, false]));
  });

  it.each(BEYOND_JSON_SCHEMA)("lets through what only the apps can check: %s", (_, envelope) => {
    expect(gateway(envelope)).toBe(true);
    expect(worker(envelope)).toBe(false);
  });

  it("is real draft-04: later keywords are converted or refused, never passed through", () => {
    expect(toDraft04({ const: "a", exclusiveMinimum: 0 })).toEqual({
      enum: ["a"],
      minimum: 0,
      exclusiveMinimum: true,
    });
    expect(() => toDraft04({ properties: { a: { contains: {} } } })).toThrow(
      '#/properties/a/contains: draft-04 has no "contains"',
    );
  });
});
