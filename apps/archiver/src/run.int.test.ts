import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis, type EntryStore, type RedisConfig } from "@gsk/redis-store";
import { type MongoInstance, startReplicatedRedis, test, waitFor } from "@gsk/testing";
import { createPolicyStore } from "@gsk/ttl-policy";
import { describe, expect, onTestFinished } from "vitest";
import { archiveOf, ensureIndexes } from "./collections.ts";
import { restore } from "./restore.ts";
import { archiveRun, emptyState, mongoSink, type RunState, type Sink } from "./run.ts";
import { meta, PRODUCED_AT, resetArchive } from "./test-support.ts";

const keys = redisKeys("gsk");

async function setup(config: RedisConfig, mongo: MongoInstance) {
  await resetArchive(mongo);
  const redis = createRedis(config, () => {});
  await redis.client.connect();
  onTestFinished(() => redis.client.destroy());
  const archive = archiveOf(mongo.db);
  await ensureIndexes(archive, undefined);
  const entries = createEntryStore(redis, keys);
  const run = (state: RunState, overrides: { entries?: EntryStore; sink?: Sink } = {}) =>
    archiveRun(
      {
        entries: overrides.entries ?? entries,
        policies: createPolicyStore(redis, keys, 600),
        archive,
        now: Date.now,
        scanCount: 50,
        ...(overrides.sink ? { sink: overrides.sink } : {}),
      },
      { runId: "test-run", state, checkpoint: async () => {} },
    );
  return { redis, archive, entries, run };
}

describe("archiveRun", () => {
  test("keys deleted and expiring during the scan are counted as vanished, not failures", async ({
    redis,
    mongo,
  }) => {
    const {
      entries,
      run,
      archive,
      redis: handle,
    } = await setup({ urls: [redis.url], cluster: false }, mongo);
    for (let i = 0; i < 400; i++)
      await entries.write({ meta: meta({ webhookKey: `v${i}` }), dataJson: String(i) });
    let n = 0;
    // Between SCAN listing a key and the read, every 8th key is deleted and every 8th+1 expires.
    const racing: EntryStore = {
      ...entries,
      async readForArchive(source, batch) {
        for (const key of batch) {
          n++;
          if (n % 8 === 0) await handle.client.del(key);
          if (n % 8 === 1) await handle.client.pExpire(key, 1);
        }
        await new Promise((r) => setTimeout(r, 5));
        return entries.readForArchive(source, batch);
      },
    };
    const counts = await run(emptyState(), { entries: racing });
    expect(counts.vanished).toBe(100);
    expect(counts.failed).toBe(0);
    expect(counts.scanned).toBe(300);
    expect(counts.scanned).toBe(counts.inserted + counts.unchanged + counts.failed);
    expect(await archive.entries.countDocuments()).toBe(300);
  });

  test("a run that fails part way resumes from its cursors and archives everything once", async ({
    redis,
    mongo,
  }) => {
    const { entries, run, archive } = await setup({ urls: [redis.url], cluster: false }, mongo);
    for (let i = 0; i < 500; i++)
      await entries.write({ meta: meta({ webhookKey: `r${i}` }), dataJson: String(i) });
    const state = emptyState();
    const real = mongoSink(archive);
    let batches = 0;
    const failing: typeof real = async (ops) => {
      if (++batches === 4) throw new Error("MongoDB went away");
      return real(ops);
    };
    await expect(run(state, { sink: failing })).rejects.toThrow("MongoDB went away");
    expect(state.cursors.single).not.toBe("0");
    const partial = state.counts.inserted;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(500);
    const counts = await run(state);
    expect(counts.inserted + counts.unchanged).toBe(counts.scanned);
    expect(await archive.entries.countDocuments()).toBe(500);
  });

  test("on a Redis Cluster the run archives the keys of every master", async ({ redisCluster, mongo }) => {
    const { entries, run, archive } = await setup({ urls: redisCluster.urls, cluster: true }, mongo);
    for (let i = 0; i < 150; i++)
      await entries.write({ meta: meta({ webhookKey: `c${i}` }), dataJson: String(i) });
    const perNode = await Promise.all(redisCluster.nodes.map(async (n) => Number(await n.cli("DBSIZE"))));
    expect(perNode.every((count) => count > 0)).toBe(true);
    const counts = await run(emptyState());
    expect(counts).toMatchObject({ scanned: 150, inserted: 150, failed: 0 });
    expect(await archive.entries.countDocuments()).toBe(150);
  });
});

describe("retention", () => {
  test("ARCHIVE_RETENTION_DAYS creates, updates and (unset) removes a TTL index on lastArchivedAt", async ({
    mongo,
  }) => {
    await resetArchive(mongo);
    const archive = archiveOf(mongo.db);
    const ttl = async () =>
      (await archive.entries.listIndexes().toArray()).find((i) => i.key.lastArchivedAt === 1)
        ?.expireAfterSeconds;
    await ensureIndexes(archive, 30);
    expect(await ttl()).toBe(30 * 86_400);
    await ensureIndexes(archive, 7);
    expect(await ttl()).toBe(7 * 86_400);
    await ensureIndexes(archive, undefined);
    expect(await ttl()).toBeUndefined();
    const unique = (await archive.entries.listIndexes().toArray()).find((i) => i.unique);
    expect(unique?.key).toEqual({ webhookKey: 1, producedAt: -1, eventId: 1 });
  });
});

describe("restore", () => {
  test("after FLUSHALL every non-expired entry and policy is back, expiring at its original time; newer data is kept", async ({
    redis,
    mongo,
  }) => {
    const {
      entries,
      run,
      archive,
      redis: handle,
    } = await setup({ urls: [redis.url], cluster: false }, mongo);
    const policies = createPolicyStore(handle, keys, 600);
    const soon = Date.now() + 120_000;
    for (let i = 0; i < 120; i++) {
      await entries.write({
        meta: meta({ webhookKey: `e${i}`, accountId: i % 2 ? "acme" : "beta", expiresAt: soon }),
        dataJson: JSON.stringify({ i }),
      });
    }
    await entries.write({ meta: meta({ webhookKey: "forever", expiresAt: null }), dataJson: "1" });
    await entries.write({ meta: meta({ webhookKey: "same-ms", eventId: "a" }), dataJson: '"a"' });
    await entries.write({ meta: meta({ webhookKey: "same-ms", eventId: "b" }), dataJson: '"b"' });
    await policies.set({ accountId: "acme" }, { ttlSeconds: 3600 });
    await policies.set({ accountId: "acme", flowId: "orders" }, { ttlSeconds: null });
    await run(emptyState());
    // An archived version that has since expired.
    await archive.entries.insertOne({
      ...(await archive.entries.findOne({ webhookKey: "e1" }, { projection: { _id: 0 } }))!,
      webhookKey: "gone",
      expiresAt: new Date(Date.now() - 1000),
    });
    const before = await redis.cli("HGET", "gsk:entry:e3", "b");

    await redis.cli("FLUSHALL");
    await entries.write({
      meta: meta({ webhookKey: "e5", producedAt: PRODUCED_AT + 60_000 }),
      dataJson: '"newer"',
    });
    // Another account took e6 since: restore leaves it theirs.
    await entries.write({ meta: meta({ webhookKey: "e6", accountId: "squatter" }), dataJson: '"theirs"' });

    const dry = await restore(archive, entries, policies, { dryRun: true, now: Date.now });
    const expected = {
      restored: 120,
      skippedNewer: 1,
      skippedExpired: 1,
      skippedConflict: 1,
      policiesRestored: 2,
    };
    expect(dry).toEqual(expected);
    expect(await redis.cli("DBSIZE")).toBe("2");

    const counts = await restore(archive, entries, policies, { dryRun: false, now: Date.now });
    expect(counts).toEqual(expected);
    expect(JSON.parse(await redis.cli("HGET", "gsk:entry:e6", "b"))).toMatchObject({ accountId: "squatter" });
    expect(await redis.cli("HGET", "gsk:entry:e3", "b")).toBe(before);
    expect(Math.abs(Number(await redis.cli("PEXPIRETIME", "gsk:entry:e3")) - soon)).toBeLessThan(1000);
    expect(await redis.cli("PTTL", "gsk:entry:forever")).toBe("-1");
    expect(JSON.parse(await redis.cli("HGET", "gsk:entry:e5", "b")).data).toBe("newer");
    expect(JSON.parse(await redis.cli("HGET", "gsk:entry:same-ms", "b")).data).toBe("b");
    expect(await redis.cli("EXISTS", "gsk:entry:gone")).toBe("0");
    expect(await policies.get({ accountId: "acme" })).toEqual({ ttlSeconds: 3600 });
    expect(await policies.get({ accountId: "acme", flowId: "orders" })).toEqual({ ttlSeconds: null });

    const again = await restore(archive, entries, policies, { dryRun: false, now: Date.now });
    expect(again).toMatchObject({ restored: 0, policiesRestored: 0 });
  });

  test("--account and --flow narrow the restore", async ({ redis, mongo }) => {
    const {
      entries,
      run,
      archive,
      redis: handle,
    } = await setup({ urls: [redis.url], cluster: false }, mongo);
    const policies = createPolicyStore(handle, keys, 600);
    await entries.write({ meta: meta({ webhookKey: "a1", accountId: "acme", flowId: "f1" }), dataJson: "1" });
    await entries.write({ meta: meta({ webhookKey: "a2", accountId: "acme", flowId: "f2" }), dataJson: "1" });
    await entries.write({ meta: meta({ webhookKey: "b1", accountId: "beta", flowId: "f1" }), dataJson: "1" });
    await run(emptyState());
    await redis.cli("FLUSHALL");
    expect(
      await restore(archive, entries, policies, {
        accountId: "acme",
        flowId: "f1",
        dryRun: false,
        now: Date.now,
      }),
    ).toMatchObject({ restored: 1 });
    expect(
      await restore(archive, entries, policies, { accountId: "acme", dryRun: false, now: Date.now }),
    ).toMatchObject({ restored: 1, skippedNewer: 1 });
    expect(await redis.cli("EXISTS", "gsk:entry:b1")).toBe("0");
  });

  test("restore and policy writes report success only once a replica has them", async ({ mongo }) => {
    const replicated = await startReplicatedRedis();
    onTestFinished(() => replicated.dispose());
    const {
      entries,
      run,
      archive,
      redis: handle,
    } = await setup(
      { urls: [replicated.url], cluster: false, minReplicas: "auto", replicaTimeoutMs: 200 },
      mongo,
    );
    const confirmWrites = (hooks: string[]) => handle.confirmWrites(hooks.map((k) => keys.entry(k)));
    const policies = createPolicyStore(handle, keys, 600);
    await entries.write({ meta: meta({ webhookKey: "r1" }), dataJson: "1" });
    await run(emptyState());
    await replicated.primary.cli("FLUSHALL");
    replicated.replica.signal("SIGSTOP");
    onTestFinished(() => replicated.replica.signal("SIGCONT"));
    await expect(
      restore(archive, entries, policies, { dryRun: false, now: Date.now, confirmWrites }),
    ).rejects.toThrow("Redis replicas did not confirm the restored entries in time");
    await expect(policies.set({ accountId: "acme" }, { ttlSeconds: 600 })).rejects.toThrow(
      "Redis replicas did not confirm the policy write in time",
    );
    replicated.replica.signal("SIGCONT");
    // The replica catches up with what the first attempt wrote before the retry confirms it
    // (on a loaded machine that takes longer than the 200 ms WAIT).
    await waitFor(
      async () => (await replicated.replica.cli("EXISTS", "gsk:entry:r1")) === "1",
      "the replica to catch up",
    );
    expect(
      await restore(archive, entries, policies, { dryRun: false, now: Date.now, confirmWrites }),
    ).toMatchObject({ skippedNewer: 1 });
    await policies.set({ accountId: "acme" }, { ttlSeconds: 900 });
    await waitFor(
      async () => (await replicated.replica.cli("EXISTS", "gsk:entry:r1")) === "1",
      "on the replica",
    );
  });
});
