import { redisKeys } from "@gsk/redis-keys";
import { redisClient, startRedisWithReplica, test } from "@gsk/testing";
import { describe, expect, onTestFinished } from "vitest";
import { createRedis, type RedisConfig } from "./client.ts";
import { createEntryStore, type EntryMeta } from "./entries.ts";

const keys = redisKeys("gsk");

async function open(config: RedisConfig) {
  const handle = createRedis(config, () => {});
  await handle.client.connect();
  onTestFinished(() => handle.client.destroy());
  return { ...handle, store: createEntryStore(handle, keys) };
}

const meta = (over: Partial<EntryMeta> = {}): EntryMeta => ({
  webhookKey: "hook-1",
  accountId: "acme",
  flowId: "orders",
  eventId: "e-1",
  producedAt: Date.parse("2026-01-02T03:04:05.678Z"),
  storedAt: Date.parse("2026-01-02T03:04:06.000Z"),
  expiresAt: Date.now() + 3_600_000,
  ...over,
});

/** The entry as the API serves it: times as RFC 3339 UTC text. */
const served = (m: Omit<EntryMeta, "webhookKey"> & { webhookKey?: string }, data: unknown) => ({
  ...m,
  data,
  producedAt: new Date(m.producedAt).toISOString(),
  storedAt: new Date(m.storedAt).toISOString(),
  expiresAt: m.expiresAt === null ? null : new Date(m.expiresAt).toISOString(),
});

describe("entry store on a real Redis", () => {
  test("writes the API JSON and reads it back in one round trip with its ETag", async ({ redis }) => {
    const { store } = await open({ urls: [redis.url], cluster: false });
    const m = meta();
    expect(await store.write({ meta: m, dataJson: '{"x":[1,"é"]}' })).toBe("written");
    const record = await store.read("hook-1");
    expect(JSON.parse(record!.body)).toEqual(served(m, { x: [1, "é"] }));
    expect(record!.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(record!.accountId).toBe("acme");
    expect(await store.read("absent")).toBeNull();
  });

  test("expires the key at expiresAt exactly, or never", async ({ redis }) => {
    const { store } = await open({ urls: [redis.url], cluster: false });
    const expiresAt = Date.now() + 120_000;
    await store.write({ meta: meta({ expiresAt }), dataJson: "1" });
    expect(Number(await redis.cli("PEXPIRETIME", "gsk:entry:hook-1"))).toBe(expiresAt);
    await store.write({ meta: meta({ webhookKey: "forever", expiresAt: null }), dataJson: "1" });
    expect(await redis.cli("PTTL", "gsk:entry:forever")).toBe("-1");
  });

  test("last writer wins by producedAt, then eventId in byte order; equal versions change nothing", async ({
    redis,
  }) => {
    const { store } = await open({ urls: [redis.url], cluster: false });
    const at = (p: string, e: string) =>
      meta({ producedAt: Date.parse(p), eventId: e, storedAt: Date.now() });
    expect(await store.write({ meta: at("2026-01-02T00:00:00.000Z", "b"), dataJson: '"v1"' })).toBe(
      "written",
    );
    expect(await store.write({ meta: at("2026-01-01T00:00:00.000Z", "z"), dataJson: '"older"' })).toBe(
      "kept",
    );
    expect(await store.write({ meta: at("2026-01-02T00:00:00.000Z", "b"), dataJson: '"same"' })).toBe("kept");
    // "B" (0x42) sorts before "b" (0x62) in bytes, though many locales put it after.
    expect(await store.write({ meta: at("2026-01-02T00:00:00.000Z", "B"), dataJson: '"lower"' })).toBe(
      "kept",
    );
    expect(await store.write({ meta: at("2026-01-02T00:00:00.000Z", "ba"), dataJson: '"longer"' })).toBe(
      "written",
    );
    expect(JSON.parse((await store.read("hook-1"))!.body).data).toBe("longer");
    expect(await store.write({ meta: at("2026-01-02T00:00:00.001Z", "a"), dataJson: '"newer"' })).toBe(
      "written",
    );
    expect(JSON.parse((await store.read("hook-1"))!.body).data).toBe("newer");
    expect(await store.readVersion("hook-1")).toEqual({
      producedAtMs: Date.parse("2026-01-02T00:00:00.001Z"),
      eventId: "a",
    });
    expect(await store.readVersion("nope")).toBeNull();
  });

  test("a key holds one account's data at a time: another account's write is refused until it expires", async ({
    redis,
  }) => {
    const { store } = await open({ urls: [redis.url], cluster: false });
    const soon = Date.now() + 300;
    expect(await store.write({ meta: meta({ expiresAt: soon }), dataJson: '"a"' })).toBe("written");
    const rival = meta({ accountId: "rival", eventId: "z", producedAt: Date.now() });
    expect(await store.write({ meta: rival, dataJson: '"b"' })).toBe("conflict");
    expect(await store.owners(["hook-1", "free"])).toEqual(["acme", null]);
    expect(JSON.parse((await store.read("hook-1"))!.body).data).toBe("a");
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await store.write({ meta: rival, dataJson: '"b"' })).toBe("written");
    expect((await store.read("hook-1"))?.accountId).toBe("rival");
  });

  test("one message's entries: a result per key, each body exact, large data sent a few keys at a time", async ({
    redis,
  }) => {
    const { store } = await open({ urls: [redis.url], cluster: false });
    await store.write({ meta: meta({ webhookKey: "taken", accountId: "other" }), dataJson: "0" });
    const { webhookKey: _, ...shared } = meta();
    const data = JSON.stringify({ pad: "é".repeat(200_000) });
    const webhookKeys = ["k1", "taken", "k2", "k3", "k4", "k5", "k6", "k7"];
    const results = await store.writeMessage({ meta: shared, dataJson: data, webhookKeys });
    expect(results).toEqual([
      "written",
      "conflict",
      "written",
      "written",
      "written",
      "written",
      "written",
      "written",
    ]);
    for (const key of ["k1", "k7"]) {
      const record = await store.read(key);
      expect(JSON.parse(record!.body)).toEqual(served({ ...shared, webhookKey: key }, JSON.parse(data)));
    }
    expect((await store.read("k1"))!.etag).not.toBe((await store.read("k2"))!.etag);
  });

  test("an entry's ETag changes with its JSON, whether its message named one key or several", async ({
    redis,
  }) => {
    const { store } = await open({ urls: [redis.url], cluster: false });
    const { webhookKey: _, ...shared } = meta();
    const etags = async () =>
      Promise.all(["solo", "k1", "k2"].map(async (key) => (await store.read(key))!.etag));
    const write = async (over: Partial<EntryMeta>, dataJson: string) => {
      const m = { ...shared, ...over };
      await store.writeMessage({ meta: m, dataJson, webhookKeys: ["solo"] });
      await store.writeMessage({ meta: m, dataJson, webhookKeys: ["k1", "k2"] });
    };
    await write({}, '{"n":1}');
    const first = await etags();
    expect(new Set(first).size).toBe(3);
    for (const etag of first) expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    // A newer version whose JSON differs in data and eventId, then one whose JSON differs only in
    // its eventId, and the same two steps with data large enough for two keys to share it as
    // bytes: every ETag changes each time.
    const large = (c: string) => JSON.stringify(c.repeat(200_000));
    let previous = first;
    for (const [eventId, dataJson] of [
      ["e-2", '{"n":2}'],
      ["e-3", '{"n":2}'],
      ["e-4", large("x")],
      ["e-5", large("y")],
      ["e-6", large("y")],
    ] as const) {
      await write({ eventId }, dataJson);
      const next = await etags();
      for (let i = 0; i < 3; i++) expect(next[i]).not.toBe(previous[i]);
      previous = next;
    }
  });

  test("a command Redis does not answer fails within the command timeout, and works once Redis resumes", async ({
    redis,
  }) => {
    const { store, ping } = await open({ urls: [redis.url], cluster: false, commandTimeoutMs: 300 });
    await store.write({ meta: meta(), dataJson: "1" });
    await redis.cli("CLIENT", "PAUSE", "1500", "ALL");
    const started = performance.now();
    await expect(store.read("hook-1")).rejects.toThrow("Redis did not answer within 300 ms");
    await expect(ping()).rejects.toThrow("Redis did not answer within 300 ms");
    expect(performance.now() - started).toBeLessThan(1200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await store.read("hook-1"))?.accountId).toBe("acme");
  });

  test("survives SCRIPT FLUSH (reloads the script)", async ({ redis }) => {
    const { store } = await open({ urls: [redis.url], cluster: false });
    await store.write({ meta: meta(), dataJson: "1" });
    await redis.cli("SCRIPT", "FLUSH");
    expect(
      await store.write({
        meta: meta({ producedAt: Date.parse("2026-01-03T00:00:00.000Z") }),
        dataJson: "2",
      }),
    ).toBe("written");
  });

  test("reads for the archive return the body and absolute expiry", async ({ redis }) => {
    const { store } = await open({ urls: [redis.url], cluster: false });
    const expiresAt = Date.now() + 60_000;
    await store.write({ meta: meta({ expiresAt }), dataJson: "1" });
    const [source] = await store.scanSources();
    expect((await store.scanKeys(source!, "0", 100)).keys).toEqual(["gsk:entry:hook-1"]);
    const [record, gone] = await store.readForArchive(source!, ["gsk:entry:hook-1", "gsk:entry:gone"]);
    expect(record?.pexpireTime).toBe(expiresAt);
    expect(JSON.parse(record?.body ?? "{}").webhookKey).toBe("hook-1");
    expect(gone).toBeNull();
  });

  test("works on a Redis Cluster, keys of one message landing on several masters", async ({
    redisCluster,
  }) => {
    const { store, masters } = await open({ urls: redisCluster.urls, cluster: true });
    const hooks = Array.from({ length: 20 }, (_, i) => `hook-${i}`);
    // One message naming all of them, its data large enough to be shared by the keys as bytes.
    const { webhookKey: _, ...shared } = meta();
    const data = "d".repeat(14_000);
    const results = await store.writeMessage({
      meta: shared,
      dataJson: JSON.stringify(data),
      webhookKeys: hooks,
    });
    expect(results).toEqual(hooks.map(() => "written"));
    for (const hook of hooks) {
      expect(JSON.parse((await store.read(hook))!.body)).toEqual(
        served({ ...shared, webhookKey: hook }, data),
      );
    }
    expect((await masters()).map((m) => m.id).sort()).toEqual(
      redisCluster.nodes.map((n) => `127.0.0.1:${n.port}`).sort(),
    );
    const sizes = await Promise.all(redisCluster.nodes.map(async (n) => Number(await n.cli("DBSIZE"))));
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  test("a confirmed write is on the replica, also when many batches confirm at once, which share WAITs", async () => {
    const pair = await startRedisWithReplica();
    onTestFinished(() => pair.dispose());
    const { store, confirmWrites } = await open({
      urls: [pair.primary.url],
      cluster: false,
      minReplicas: "auto",
    });
    const replica = await redisClient(pair.replica.url);
    const hooks = Array.from({ length: 200 }, (_, i) => `hook-${i}`);
    const missing: string[] = [];
    await Promise.all(
      hooks.map(async (webhookKey) => {
        await store.write({ meta: meta({ webhookKey }), dataJson: "1" });
        expect(await confirmWrites([keys.entry(webhookKey)])).toBe(true);
        // Confirmed: the replica has it now, not eventually.
        if ((await replica.exists(keys.entry(webhookKey))) !== 1) missing.push(webhookKey);
      }),
    );
    expect(missing).toEqual([]);
    const waits = Number(
      /cmdstat_wait:calls=(\d+)/.exec(await pair.primary.cli("INFO", "commandstats"))?.[1],
    );
    expect(waits).toBeGreaterThan(0);
    expect(waits).toBeLessThan(hooks.length / 2);
  });
});
