import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatInstant, normalizeRfc3339, parseRfc3339 } from "./time.ts";

const MIN = Date.parse("0000-01-01T00:00:00.000Z");
const MAX = Date.parse("9999-12-31T23:59:59.999Z");

describe("formatInstant", () => {
  it("writes the same text as toISOString for any instant of years 0000-9999", () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN, max: MAX }), (ms) => {
        expect(formatInstant(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 20_000 },
    );
  });

  it("writes the same text around now, where its day cache serves most calls", () => {
    const now = Date.now();
    for (let offset = -2 * 86_400_000; offset <= 2 * 86_400_000; offset += 999_983) {
      expect(formatInstant(now + offset)).toBe(new Date(now + offset).toISOString());
    }
    for (const ms of [0, -1, 1, MIN, MAX, 86_399_999, -86_400_000, -86_400_001]) {
      expect(formatInstant(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it("falls back to toISOString outside its range, throwing as it does for an invalid time", () => {
    expect(formatInstant(MAX + 1)).toBe("+010000-01-01T00:00:00.000Z");
    expect(formatInstant(1.7)).toBe(new Date(1.7).toISOString());
    expect(() => formatInstant(Number.NaN)).toThrow(RangeError);
  });

  it("round-trips with parseRfc3339", () => {
    const now = Date.now();
    expect(parseRfc3339(formatInstant(now))).toBe(now);
    expect(normalizeRfc3339("2026-01-02T04:04:05.6789+01:00")).toBe("2026-01-02T03:04:05.678Z");
  });
});
