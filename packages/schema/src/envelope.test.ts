import fc from "fast-check";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import {
  createEnvelopeSchema,
  createMessageParser,
  DEFAULT_MAX_DATA_BYTES,
  envelopeJsonSchema,
  jsonValueProblem,
  TtlPolicySchema,
} from "./index.ts";

/** UTF-8 byte length of a value's JSON serialization (what the size limit counts). */
const jsonByteLength = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8");

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const alnum = fc.constantFrom(...ID_CHARS);
const idChar = fc.constantFrom(...`${ID_CHARS}._-`);
const keyChar = fc.constantFrom(...`${ID_CHARS}._~-`);
const eventChar = fc.constantFrom(...`${ID_CHARS}._:-`);

const id = fc.tuple(alnum, fc.string({ unit: idChar, maxLength: 63 })).map(([first, rest]) => first + rest);
const webhookKey = fc
  .string({ unit: keyChar, minLength: 1, maxLength: 128 })
  .filter((key) => key !== "." && key !== "..");
const eventId = fc.string({ unit: eventChar, minLength: 1, maxLength: 128 });
const instant = fc.date({ min: new Date(0), max: new Date(), noInvalidDate: true });
// JSON values JSON can carry exactly (fast-check's doubles include integers beyond 2^53).
const exactJson = fc.jsonValue({ maxDepth: 3 }).filter((value) => jsonValueProblem(value) === undefined);

const envelope = fc.record(
  {
    accountId: id,
    flowId: id,
    webhookKeys: fc.uniqueArray(webhookKey, { minLength: 1, maxLength: 100 }),
    data: exactJson,
    producedAt: instant.map((d) => d.toISOString()),
    eventId,
  },
  { requiredKeys: ["accountId", "flowId", "webhookKeys", "data"] },
);

const schema = createEnvelopeSchema();
const parserWith = (maxDataBytes: number) =>
  createMessageParser({ maxDataBytes, maxClockSkewSeconds: 300, now: Date.now });
const parseMessage = parserWith(DEFAULT_MAX_DATA_BYTES);
const body = (over: Record<string, unknown>) =>
  JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: 1, ...over });

function errorsFor(input: unknown) {
  const result = v.safeParse(schema, input);
  return result.success ? [] : result.issues.map((i) => v.getDotPath(i) ?? "");
}

describe("envelope schema", () => {
  it("accepts every valid envelope and round-trips it through JSON", () => {
    fc.assert(
      fc.property(envelope, (input) => {
        const parsed = parseMessage(JSON.stringify(input));
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const again = parseMessage(JSON.stringify(parsed.envelope));
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
    ["webhookKeys.0", (e) => (e.webhookKeys = ["."])],
    ["webhookKeys.1", (e) => (e.webhookKeys = ["a", ".."])],
    ["data.n", (e) => (e.data = { n: 2 ** 53 })],
    ["data.0.1", (e) => (e.data = [[1, -(2 ** 60)]])],
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
        const parsed = parseMessage(JSON.stringify(bad));
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
    const parsed = parseMessage(JSON.stringify({ accountId: "", webhookKeys: [] }));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => e.path).sort()).toEqual(["accountId", "data", "flowId", "webhookKeys"]);
  });

  it("ignores and drops unknown top-level fields", () => {
    const parsed = parseMessage(
      JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data: 1, extra: { x: 1 } }),
    );
    expect(parsed.ok && Object.keys(parsed.envelope)).toEqual(["accountId", "flowId", "webhookKeys", "data"]);
  });

  it("accepts null and falsy data", () => {
    for (const data of [null, 0, false, "", [], {}]) {
      const parsed = parseMessage(JSON.stringify({ accountId: "a", flowId: "f", webhookKeys: ["k"], data }));
      expect(parsed.ok && parsed.dataJson).toBe(JSON.stringify(data));
    }
  });

  it("enforces the data size limit exactly at the boundary, in UTF-8 bytes", () => {
    const max = 1000;
    const small = parserWith(max);
    fc.assert(
      fc.property(fc.constantFrom("a", "é", "€", "😀"), (ch) => {
        const unit = Buffer.byteLength(ch);
        const fits = ch.repeat(Math.floor((max - 2) / unit));
        let padded = fits;
        while (jsonByteLength(padded) < max) padded += "a";
        expect(jsonByteLength(padded)).toBe(max);
        expect(small(body({ data: padded })).ok).toBe(true);
        const over = small(body({ data: `${padded}a` }));
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
      const parsed = parseMessage(body);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.code).toBe("invalid_json");
    }
    const notObject = parseMessage("[1,2]");
    expect(!notObject.ok && notObject.code).toBe("invalid_envelope");
    expect(!notObject.ok && notObject.detail).toBe("must be a JSON object");
  });

  it("normalizes producedAt to UTC milliseconds", () => {
    const parse = (producedAt: string) => {
      const parsed = parseMessage(
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

describe("hostile message bodies", () => {
  const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

  it("rejects data nested deeper than 64 levels without recursion, naming where", () => {
    expect(parseMessage(body({ data: JSON.parse(nested(64)) })).ok).toBe(true);
    const deep = parseMessage(`{"accountId":"a","flowId":"f","webhookKeys":["k"],"data":${nested(20_000)}}`);
    expect(deep.ok).toBe(false);
    if (deep.ok) return;
    expect(deep.code).toBe("invalid_envelope");
    expect(deep.errors).toEqual([
      { path: ["data", ...Array(64).fill("0")].join("."), message: "must not nest deeper than 64 levels" },
    ]);
  });

  it("rejects numbers JSON cannot carry exactly instead of storing them changed", () => {
    expect(parseMessage(body({ data: { n: Number.MAX_SAFE_INTEGER, m: -Number.MAX_SAFE_INTEGER } })).ok).toBe(
      true,
    );
    for (const [text, path] of [
      ['{"n":9007199254740993}', "data.n"],
      ['[1,{"x":-12345678901234567890}]', "data.1.x"],
      ["1e400", "data"],
      ['{"a":[-1e400]}', "data.a.0"],
    ]) {
      const parsed = parseMessage(`{"accountId":"a","flowId":"f","webhookKeys":["k"],"data":${text}}`);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.code).toBe("invalid_envelope");
        expect(parsed.errors.map((e) => e.path)).toEqual([path]);
      }
    }
  });

  it("rejects producedAt later than now plus the allowed clock skew", () => {
    const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();
    expect(parseMessage(body({ producedAt: at(290_000) })).ok).toBe(true);
    const future = parseMessage(body({ producedAt: "9999-12-31T23:59:59Z" }));
    expect(future.ok).toBe(false);
    if (!future.ok) {
      expect(future.code).toBe("produced_in_future");
      expect(future.detail).toMatch(/^producedAt: must not be later than now plus 300 s/);
    }
    const strict = createMessageParser({ maxDataBytes: 100, maxClockSkewSeconds: 0, now: Date.now });
    expect(strict(body({ producedAt: at(5_000) })).ok).toBe(false);
  });

  it("never throws on any JSON, and every rejection names what is wrong", () => {
    const hostile = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }),
      fc.integer({ min: 60, max: 3000 }).map((depth) => JSON.parse(nested(depth))),
      fc.constantFrom(2 ** 64, -(2 ** 70), Number.MAX_VALUE, "__proto__", { ["__proto__"]: { x: 1 } }),
      fc.string({ unit: "binary", maxLength: 5000 }),
    );
    const anyBody = fc.oneof(
      hostile.map((value) => JSON.stringify(value)),
      fc
        .record({
          accountId: fc.oneof(id, hostile),
          flowId: fc.oneof(id, hostile),
          webhookKeys: fc.oneof(fc.uniqueArray(webhookKey, { minLength: 1, maxLength: 5 }), hostile),
          data: hostile,
          producedAt: fc.oneof(
            instant.map((d) => d.toISOString()),
            hostile,
          ),
        })
        .map((e) => JSON.stringify(e).replace('"accountId"', '"__proto__":{"accountId":"x"},"accountId"')),
      fc.string({ maxLength: 200 }),
    );
    fc.assert(
      fc.property(anyBody, (text) => {
        const parsed = parseMessage(text);
        if (parsed.ok) {
          expect(jsonValueProblem(parsed.envelope.data)).toBeUndefined();
          return;
        }
        expect(parsed.detail.length).toBeGreaterThan(0);
        if (parsed.code === "invalid_json") return;
        expect(parsed.errors.length).toBeGreaterThan(0);
        for (const error of parsed.errors) {
          expect(error.message.length).toBeGreaterThan(0);
          if (error.message !== "must be a JSON object") expect(error.path).not.toBe("");
        }
      }),
      { numRuns: 500 },
    );
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
