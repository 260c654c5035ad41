import { redisKeys } from "@gsk/redis-keys";
import { createRedis } from "@gsk/redis-store";
import { redisClient, test } from "@gsk/testing";
import { createClient } from "redis";
import { describe, expect, onTestFinished } from "vitest";
import { createCachedResolver, createPolicyStore } from "./index.ts";

const keys = redisKeys("gsk");

async function handleOf(url: string) {
  const handle = createRedis({ urls: [url], cluster: false }, () => {});
  await handle.client.connect();
  onTestFinished(() => handle.client.destroy());
  return handle;
}

describe("policy store on a real Redis", () => {
  test("sets, reads and deletes account and flow policies", async ({ redis }) => {
    const client = await redisClient(redis.url);
    const store = createPolicyStore(await handleOf(redis.url), keys, 604_800);
    expect(await store.get({ accountId: "acme" })).toBeNull();

    await store.set({ accountId: "acme" }, { ttlSeconds: 3600 });
    await store.set({ accountId: "acme", flowId: "orders" }, { ttlSeconds: null });
    expect(await store.get({ accountId: "acme" })).toEqual({ ttlSeconds: 3600 });
    expect(await store.get({ accountId: "acme", flowId: "orders" })).toEqual({ ttlSeconds: null });
    expect(await client.get("gsk:ttl:account:acme")).toBe('{"ttlSeconds":3600}');

    expect(await store.delete({ accountId: "acme", flowId: "orders" })).toBe(true);
    expect(await store.delete({ accountId: "acme", flowId: "orders" })).toBe(false);
    expect(await store.get({ accountId: "acme", flowId: "orders" })).toBeNull();
  });

  test("effective TTL: flow over account over default, with its source", async ({ redis }) => {
    const store = createPolicyStore(await handleOf(redis.url), keys, 604_800);
    expect(await store.effective("acme", "orders")).toEqual({ ttlSeconds: 604_800, source: "default" });
    await store.set({ accountId: "acme" }, { ttlSeconds: 7200 });
    expect(await store.effective("acme", "orders")).toEqual({ ttlSeconds: 7200, source: "account" });
    await store.set({ accountId: "acme", flowId: "orders" }, { ttlSeconds: 120 });
    expect(await store.effective("acme", "orders")).toEqual({ ttlSeconds: 120, source: "flow" });
    expect(await store.effective("acme", "billing")).toEqual({ ttlSeconds: 7200, source: "account" });
    expect(await store.effective("other", "orders")).toEqual({ ttlSeconds: 604_800, source: "default" });
  });
});

/** A policy store and a resolver (default 600 s, maxAgeMs 2000) whose clock the test moves. */
async function onClock(url: string) {
  const clock = { now: 1_000_000 };
  const store = createPolicyStore(await handleOf(url), keys, 600);
  const resolver = createCachedResolver(await redisClient(url), keys, {
    defaultTtlSeconds: 600,
    maxAgeMs: 2000,
    now: () => clock.now,
  });
  return { store, resolver, clock };
}

describe("cached resolver", () => {
  test("reuses a read for maxAgeMs and reads again right after", async ({ redis }) => {
    const { store, resolver, clock } = await onClock(redis.url);

    expect(await resolver.resolve("acme", "orders")).toEqual({ ttlSeconds: 600, source: "default" });
    await store.set({ accountId: "acme" }, { ttlSeconds: 3600 });
    clock.now += 2000;
    expect(await resolver.resolve("acme", "orders")).toEqual({ ttlSeconds: 600, source: "default" });
    clock.now += 1;
    expect(await resolver.resolve("acme", "orders")).toEqual({ ttlSeconds: 3600, source: "account" });
  });

  test("a pair's TTL is as old as the older of its two reads, and pairs never share a cache slot", async ({
    redis,
  }) => {
    const { store, resolver, clock } = await onClock(redis.url);

    await resolver.resolve("acme", "orders"); // reads acme's account policy now
    clock.now += 1500;
    // billing's flow policy is read now; acme's account policy is served from the read 1.5 s ago.
    expect(await resolver.resolve("acme", "billing")).toEqual({ ttlSeconds: 600, source: "default" });
    await store.set({ accountId: "acme" }, { ttlSeconds: 3600 });
    clock.now += 501;
    expect(await resolver.resolve("acme", "billing")).toEqual({ ttlSeconds: 3600, source: "account" });

    await store.set({ accountId: "a1", flowId: "b" }, { ttlSeconds: 90 });
    expect(await resolver.resolve("a1", "b")).toEqual({ ttlSeconds: 90, source: "flow" });
    expect(await resolver.resolve("a", "1b")).toEqual({ ttlSeconds: 600, source: "default" });
  });

  test("an id that cannot be part of a key rejects (it does not throw)", async ({ redis }) => {
    const resolver = createCachedResolver(await redisClient(redis.url), keys, { defaultTtlSeconds: 600 });
    const resolving = resolver.resolve("no spaces", "orders");
    await expect(resolving).rejects.toThrow('invalid account id for a Redis key: "no spaces"');
  });

  test("a policy change reaches a resolver within 5 seconds of wall time", async ({ redis }) => {
    const client = await redisClient(redis.url);
    const store = createPolicyStore(await handleOf(redis.url), keys, 600);
    const resolver = createCachedResolver(client, keys, { defaultTtlSeconds: 600 });
    expect((await resolver.resolve("acme", "orders")).ttlSeconds).toBe(600);

    await store.set({ accountId: "acme", flowId: "orders" }, { ttlSeconds: 90 });
    const changedAt = Date.now();
    let seen = 600 as number | null;
    while (seen !== 90 && Date.now() - changedAt < 6000) {
      seen = (await resolver.resolve("acme", "orders")).ttlSeconds;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toBe(90);
    expect(Date.now() - changedAt).toBeLessThan(5000);
  });

  test("fails rather than serving a stale value when Redis is down", async ({ ownRedis }) => {
    const client = createClient({ url: ownRedis.url, socket: { reconnectStrategy: false } });
    client.on("error", () => {});
    await client.connect();
    let now = 0;
    const resolver = createCachedResolver(client, keys, { defaultTtlSeconds: 600, now: () => now });
    await resolver.resolve("acme", "orders");
    await ownRedis.stop();
    now += 2001;
    await expect(resolver.resolve("acme", "orders")).rejects.toThrow();
  });

  test("rejects a cache age that would break the 5 second promise", () => {
    expect(() => createCachedResolver({} as never, keys, { defaultTtlSeconds: 600, maxAgeMs: 4500 })).toThrow(
      RangeError,
    );
  });
});
