import { describe, expect, it } from "vitest";
import { KeySegmentError, redisKeys } from "./index.ts";

describe("redisKeys", () => {
  const keys = redisKeys("gsk");

  it("builds every key from the prefix", () => {
    expect(keys.entry("hook-1.a~b_c")).toBe("gsk:entry:hook-1.a~b_c");
    expect(keys.entryPattern).toBe("gsk:entry:*");
    expect(keys.accountPolicy("acme")).toBe("gsk:ttl:account:acme");
    expect(keys.flowPolicy("acme", "orders.v2")).toBe("gsk:ttl:flow:acme:orders.v2");
    expect(keys.policyPattern).toBe("gsk:ttl:*");
    expect(keys.bullPrefix).toBe("{gsk-bull}");
    expect(redisKeys("prod-eu").entry("k")).toBe("prod-eu:entry:k");
    expect(redisKeys("prod-eu").bullPrefix).toBe("{prod-eu-bull}");
  });

  it("parses keys back", () => {
    expect(keys.webhookKeyOf("gsk:entry:hook-1")).toBe("hook-1");
    expect(keys.webhookKeyOf("other:entry:hook-1")).toBeUndefined();
    expect(keys.webhookKeyOf("gsk:entry:")).toBeUndefined();
    expect(keys.policyOf("gsk:ttl:account:acme")).toEqual({ accountId: "acme", flowId: null });
    expect(keys.policyOf("gsk:ttl:flow:acme:orders")).toEqual({ accountId: "acme", flowId: "orders" });
    expect(keys.policyOf("gsk:ttl:flow:acme")).toBeUndefined();
    expect(keys.policyOf("gsk:ttl:flow:acme:a:b")).toBeUndefined();
    expect(keys.policyOf("gsk:entry:acme")).toBeUndefined();
  });

  it.each(["", "{tag}", "a*", "a?", "[ab]", "a b", "a\tb", "a\nb", "a:b", "a\\b", "é", "x".repeat(129)])(
    "rejects the segment %j",
    (bad) => {
      expect(() => keys.entry(bad)).toThrow(KeySegmentError);
      expect(() => keys.accountPolicy(bad)).toThrow(KeySegmentError);
      expect(() => keys.flowPolicy("acme", bad)).toThrow(KeySegmentError);
    },
  );

  it.each(["", "{gsk}", "gs*", "g s", "g:s", "-gsk", "x".repeat(33)])("rejects the prefix %j", (bad) => {
    expect(() => redisKeys(bad)).toThrow(KeySegmentError);
  });
});
