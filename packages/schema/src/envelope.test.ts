import fc from "fast-check";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import {
  createEnvelopeSchema,
  envelopeJsonSchema,
  jsonByteLength,
  parseMessage,
  TtlPolicySchema,
} from "./index.ts";

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const alnum = fc.constantFrom(...ID_CHARS);
const idChar = fc.constantFrom(...`${ID_CHARS}._-`);
const keyChar = fc.constantFrom(...`${ID_CHARS}._~-`);
const eventChar = fc.constantFrom(...`${ID_CHARS}._:-`);

const id = fc.tuple(alnum, fc.string({ unit: idChar, maxLength: 63 })).map(([first, rest]) => first + rest);
const webhookKey = fc.string({ unit: keyChar, minLength: 1, maxLength: 128 });
const eventId = fc.string({ unit: eventChar, minLength: 1, maxLength: 128 });
const instant = fc.date({
  min: new Date("1970-01-01T00:00:00Z"),
  max: new Date("2999-12-31T00:00:00Z"),
  noInvalidDate: true,
});

const envelope = fc.record(
  {
    accountId: id,
    flowId: id,
    webhookKeys: fc.uniqueArray(webhookKey, { minLength: 1, maxLength: 100 }),
    data: fc.jsonValue({ maxDepth: 3 }),
    producedAt: instant.map((d) => d.toISOString()),
    eventId,
  },
  { requiredKeys: ["accountId", "flowId", "webhookKeys", "data"] },
);

const schema = createEnvelopeSchema();

function errorsFor(input: unknown) {
  const result = v.safeParse(schema, input);
  return result.success ? [] : result.issues.map((i) => v.getDotPath(i) ?? "");
}

describe("envelope schema", () => {
  it("accepts every valid envelope and round-trips it through JSON", () => {
    fc.assert(
      fc.property(envelope, (input) => {
        const parsed = parseMessage(schema, JSON.stringify(input));
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const again = parseMessage(schema, JSON.stringify(parsed.envelope));
        expect(again.ok && again.envelope).toEqual(parsed.envelope);
        expect(parsed.envelope.accountId).toBe(input.accountId);
        expect(parsed.envelope.webhookKeys).toEqual(input.webhookKeys);
        expect(JSON.parse(parsed.dataJson)).toEqual(JSON.parse(JSON.stringify(input.data)));
      }),
      { numRuns: 300 },
    );
  });

  const violations: [string, (e: Record<string, unknown>) => void][] = [
    ["accountId", (e) => (e.accountId = "")],
    ["accountId", (e) => (e.accountId = "-starts-with-dash")],
    ["accountId", (e) => (e.accountId = "a".repeat(65))],
    ["accountId", (e) => (e.accountId = "has space")],
    ["accountId", (e) => delete e.accountId],
    ["flowId", (e) => (e.flowId = "flow/1")],
    ["flowId", (e) => (e.flowId = 42)],
    ["webhookKeys", (e) => (e.webhookKeys = [])],
    ["webhookKeys", (e) => (e.webhookKeys = Array.from({ length: 101 }, (_, i) => `k${i}`))],
    ["webhookKeys", (e) => (e.webhookKeys = ["a", "b", "a"])],
    ["webhookKeys", (e) => (e.webhookKeys = "a")],
    ["webhookKeys.1", (e) => (e.webhookKeys = ["a", "b c"])],
    ["webhookKeys.0", (e) => (e.webhookKeys = ["k".repeat(129)])],
    ["data", (e) => delete e.data],
    ["producedAt", (e) => (e.producedAt = "2026-01-02")],
    ["producedAt", (e) => (e.producedAt = "2026-02-30T00:00:00Z")],
    ["producedAt", (e) => (e.producedAt = "2026-01-02T03:04:05")],
    ["producedAt", (e) => (e.producedAt = 1767323045678)],
    ["eventId", (e) => (e.eventId = "")],
    ["eventId", (e) => (e.eventId = "e/1")],
    ["eventId", (e) => (e.eventId = "e".repeat(129))],
  ];

  it.each(violations)("rejects a bad %s with a message naming it", (field, mutate) => {
    fc.assert(
      fc.property(envelope, (input) => {
        const bad: Record<string, unknown> = structuredClone(input);
        mutate(bad);
        const parsed = parseMessage(schema, JSON.stringify(bad));
        expect(parsed.ok).toBe(false);
        if (parsed.ok) return;
        expect(parsed.code).toBe("invalid_envelope");
        expect(errorsFor(bad)).toEqual([field]);
        expect(parsed.detail.startsWith(`${field}: `)).toBe(true);
      }),
      { numRuns: 20 },
    );
  });

  it("lists every problem at once", () => {
    const parsed = parseMessage(schema, JSON.stringify({ accountId: "", webhookKeys: [] }));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.path).sort()).toEqual(["accountId", "data", "flowId", "webhookKeys"]);
  });

  it("ignores and drops unknown top-level fields", () => {
    const parsed = parseMessage(
      schema,
      JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: 1, extra: { x: 1 } }),
    );
    expect(parsed.ok && Object.keys(parsed.envelope)).toEqual(["accountId", "flowId", "webhookKeys", "data"]);
  });

  it("accepts null and falsy data", () => {
    for (const data of [null, 0, false, "", [], {}]) {
      const parsed = parseMessage(
        schema,
        JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data }),
      );
      expect(parsed.ok && parsed.dataJson).toBe(JSON.stringify(data));
    }
  });

  it("enforces the data size limit exactly at the boundary, in UTF-8 bytes", () => {
    const max = 1000;
    const small = createEnvelopeSchema(max);
    fc.assert(
      fc.property(fc.constantFrom("a", "é", "€", "😀"), (ch) => {
        const unit = Buffer.byteLength(ch);
        const fits = ch.repeat(Math.floor((max - 2) / unit));
        const body = (data: string) =>
          JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data });
        let padded = fits;
        while (jsonByteLength(padded) < max) padded += "a";
        expect(jsonByteLength(padded)).toBe(max);
        expect(parseMessage(small, body(padded)).ok).toBe(true);
        const over = parseMessage(small, body(`${padded}a`));
        expect(over.ok).toBe(false);
        if (!over.ok) {
          expect(over.code).toBe("data_too_large");
          expect(over.detail).toBe(`data: must serialize to at most ${max} bytes, got ${max + 1}`);
        }
      }),
    );
  });

  it("reports bodies that are not JSON", () => {
    for (const body of ["", "   ", "{", "\u0000\u0001binary", "not json"]) {
      const parsed = parseMessage(schema, body);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.code).toBe("invalid_json");
    }
    const notObject = parseMessage(schema, "[1,2]");
    expect(!notObject.ok && notObject.code).toBe("invalid_envelope");
    expect(!notObject.ok && notObject.detail).toBe("must be a JSON object");
  });

  it("normalizes producedAt to UTC milliseconds", () => {
    const parse = (producedAt: string) => {
      const parsed = parseMessage(
        schema,
        JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: 1, producedAt }),
      );
      return parsed.ok ? parsed.envelope.producedAt : undefined;
    };
    expect(parse("2026-01-02T03:04:05Z")).toBe("2026-01-02T03:04:05.000Z");
    expect(parse("2026-01-02T03:04:05.678912Z")).toBe("2026-01-02T03:04:05.678Z");
    expect(parse("2026-01-02T05:04:05.6+02:00")).toBe("2026-01-02T03:04:05.600Z");
    expect(parse("2026-01-01t23:30:00-04:30")).toBe("2026-01-02T04:00:00.000Z");
    expect(parse("2024-02-29T00:00:00Z")).toBe("2024-02-29T00:00:00.000Z");
    expect(parse("2023-02-29T00:00:00Z")).toBeUndefined();
    expect(parse("2026-01-02T24:00:00Z")).toBeUndefined();
  });
});

describe("envelope JSON Schema", () => {
  it("states the rules JSON Schema can express", () => {
    const json = envelopeJsonSchema(262_144) as {
      required: string[];
      properties: Record<string, Record<string, unknown>>;
    };
    expect(json.required.sort()).toEqual(["accountId", "data", "flowId", "webhookKeys"]);
    expect(json.properties.accountId).toMatchObject({
      type: "string",
      pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
    });
    expect(json.properties.webhookKeys).toMatchObject({
      type: "array",
      minItems: 1,
      maxItems: 100,
      uniqueItems: true,
    });
    expect(json.properties.producedAt).toMatchObject({ type: "string", format: "date-time" });
    expect(json.properties.data?.description).toContain("262144 bytes");
  });
});

describe("TTL policy body", () => {
  it("accepts bounds and null, rejects the rest with the field named", () => {
    const check = (body: unknown) => {
      const r = v.safeParse(TtlPolicySchema, body);
      return r.success ? "ok" : r.issues.map((i) => `${v.getDotPath(i)}: ${i.message}`).join("; ");
    };
    expect(check({ ttlSeconds: 60 })).toBe("ok");
    expect(check({ ttlSeconds: 31_536_000 })).toBe("ok");
    expect(check({ ttlSeconds: null })).toBe("ok");
    expect(check({ ttlSeconds: 59 })).toBe("ttlSeconds: must be at least 60");
    expect(check({ ttlSeconds: 31_536_001 })).toBe("ttlSeconds: must be at most 31536000");
    expect(check({ ttlSeconds: 60.5 })).toBe("ttlSeconds: must be an integer number of seconds or null");
    expect(check({ ttlSeconds: "60" })).toBe("ttlSeconds: must be an integer number of seconds or null");
    expect(check({})).toBe("ttlSeconds: is required");
    expect(check({ ttlSeconds: 60, ttl: 1 })).toBe("ttl: is not a known field");
    expect(check([])).toBe("null: must be a JSON object");
  });
});
