import { describe, expect, it } from "vitest";
import { decodePolicy, expiresAtMs, resolveTtl } from "./index.ts";

describe("resolveTtl", () => {
  it("prefers the flow, then the account, then the default", () => {
    expect(resolveTtl({ ttlSeconds: 60 }, { ttlSeconds: 120 }, 600)).toEqual({
      ttlSeconds: 60,
      source: "flow",
    });
    expect(resolveTtl(null, { ttlSeconds: 120 }, 600)).toEqual({ ttlSeconds: 120, source: "account" });
    expect(resolveTtl(null, null, 600)).toEqual({ ttlSeconds: 600, source: "default" });
  });

  it("keeps a never-expiring policy as null, even over a finite one", () => {
    expect(resolveTtl({ ttlSeconds: null }, { ttlSeconds: 120 }, 600)).toEqual({
      ttlSeconds: null,
      source: "flow",
    });
    expect(resolveTtl(null, { ttlSeconds: null }, 600)).toEqual({ ttlSeconds: null, source: "account" });
  });
});

describe("expiresAtMs", () => {
  it("adds the TTL to producedAt, absolute", () => {
    const producedAt = Date.parse("2026-01-02T03:04:05.678Z");
    expect(new Date(expiresAtMs(producedAt, 60)!).toISOString()).toBe("2026-01-02T03:05:05.678Z");
    expect(expiresAtMs(producedAt, null)).toBeNull();
  });
});

describe("decodePolicy", () => {
  it("reads stored policies and rejects corrupt ones by key", () => {
    expect(decodePolicy("k", null)).toBeNull();
    expect(decodePolicy("k", '{"ttlSeconds":3600}')).toEqual({ ttlSeconds: 3600 });
    expect(decodePolicy("k", '{"ttlSeconds":null}')).toEqual({ ttlSeconds: null });
    expect(() => decodePolicy("gsk:ttl:account:a", "nope")).toThrow(
      "TTL policy at gsk:ttl:account:a is not JSON",
    );
    expect(() => decodePolicy("k", '{"ttlSeconds":5}')).toThrow("ttlSeconds: must be at least 60");
  });
});
