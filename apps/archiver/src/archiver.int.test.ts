import { test, waitFor } from "@gsk/testing";
import { createPolicyStore } from "@gsk/ttl-policy";
import { describe, expect } from "vitest";
import {
  ADMIN_TOKEN,
  archiverEnv,
  meta,
  PRODUCED_AT,
  READER_TOKEN,
  resetArchive,
  runNow,
  startArchiver,
} from "./test-support.ts";

describe("archive runs", () => {
  test("archive every live entry with its fields and dates; re-runs insert nothing; new versions add documents", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const {
      archiver,
      entries,
      redis: handle,
      keys,
    } = await startArchiver(archiverEnv([redis.url], mongo), mongo);
    for (let i = 0; i < 250; i++)
      await entries.write({ meta: meta({ webhookKey: `k${i}` }), dataJson: JSON.stringify({ i }) });
    await entries.write({ meta: meta({ webhookKey: "forever", expiresAt: null }), dataJson: '"x"' });
    await createPolicyStore(handle, keys, 600).set(
      { accountId: "acme", flowId: "orders" },
      { ttlSeconds: 120 },
    );

    const first = await runNow(archiver);
    expect(first).toMatchObject({
      trigger: "manual",
      status: "succeeded",
      scanned: 251,
      inserted: 251,
      unchanged: 0,
      failed: 0,
      vanished: 0,
    });
    expect(first.durationMs).toBeGreaterThanOrEqual(0);
    const doc = await archiver.archive.entries.findOne({ webhookKey: "k7" });
    expect(doc).toMatchObject({
      webhookKey: "k7",
      accountId: "acme",
      flowId: "orders",
      data: { i: 7 },
      eventId: "e-1",
      producedAt: new Date(PRODUCED_AT),
      storedAt: new Date(PRODUCED_AT + 1000),
      runId: first._id,
    });
    expect(doc?.expiresAt).toBeInstanceOf(Date);
    expect(doc?.firstArchivedAt).toEqual(doc?.lastArchivedAt);
    expect((await archiver.archive.entries.findOne({ webhookKey: "forever" }))?.expiresAt).toBeNull();
    expect(
      await archiver.archive.policies.find({}, { projection: { _id: 0, lastSeenAt: 0 } }).toArray(),
    ).toEqual([{ accountId: "acme", flowId: "orders", ttlSeconds: 120 }]);

    const second = await runNow(archiver);
    expect(second).toMatchObject({ scanned: 251, inserted: 0, unchanged: 251, failed: 0 });
    const again = await archiver.archive.entries.findOne({ webhookKey: "k7" });
    expect(again?.firstArchivedAt).toEqual(doc?.firstArchivedAt);
    expect(again?.runId).toBe(second._id);

    await entries.write({
      meta: meta({ webhookKey: "k1", producedAt: PRODUCED_AT + 60_000 }),
      dataJson: "2",
    });
    await entries.write({ meta: meta({ webhookKey: "k2", eventId: "e-2" }), dataJson: "2" });
    const third = await runNow(archiver);
    expect(third).toMatchObject({ inserted: 2, unchanged: 249 });
    expect(await archiver.archive.entries.countDocuments({ webhookKey: { $in: ["k1", "k2"] } })).toBe(4);
    expect(await archiver.archive.entries.countDocuments()).toBe(253);
  });

  test("MongoDB unreachable during a run: the attempt fails, is retried, and completes when MongoDB returns", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const { archiver, entries } = await startArchiver(
      archiverEnv([redis.url], mongo, { ARCHIVE_ATTEMPTS: "20" }),
      mongo,
    );
    await runNow(archiver);
    for (let i = 0; i < 300; i++)
      await entries.write({ meta: meta({ webhookKey: `m${i}` }), dataJson: String(i) });
    await mongo.cut();
    const res = await archiver.app.request("/admin/archive/runs", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    await waitFor(
      async () => ((await archiver.queue.getJob(runId))?.attemptsMade ?? 0) >= 1,
      "a failed attempt",
      30_000,
    );
    expect((await archiver.app.request("/readyz")).status).toBe(503);
    await mongo.restore();
    const run = await waitFor(
      async () => {
        const doc = await archiver.archive.runs.findOne({ _id: runId });
        return doc?.status === "succeeded" ? doc : undefined;
      },
      "the retried run to succeed",
      40_000,
      200,
    );
    expect(run.attempts).toBeGreaterThan(1);
    expect(await archiver.archive.entries.countDocuments()).toBe(300);
    expect((await archiver.app.request("/readyz")).status).toBe(200);
  });
});

describe("on a Redis Cluster", () => {
  test("BullMQ schedules and runs on the cluster (hash-tagged prefix) and the run archives every master", async ({
    redisCluster,
    mongo,
  }) => {
    await resetArchive(mongo);
    const { archiver, entries } = await startArchiver(archiverEnv(redisCluster.urls, mongo), mongo);
    for (let i = 0; i < 90; i++)
      await entries.write({ meta: meta({ webhookKey: `cl${i}` }), dataJson: String(i) });
    expect(await archiver.queue.getJobSchedulers()).toHaveLength(1);
    const run = await runNow(archiver);
    expect(run).toMatchObject({ scanned: 90, inserted: 90, failed: 0 });
    const bullKeys = await Promise.all(redisCluster.nodes.map((n) => n.cli("KEYS", "{gsk-bull}*")));
    expect(bullKeys.filter((k) => k.length > 0)).toHaveLength(1);
  });
});

describe("HTTP", () => {
  test("the admin route and bull-board refuse requests without valid authentication", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const { archiver } = await startArchiver(archiverEnv([redis.url], mongo), mongo);
    const app = archiver.app;
    const post = (headers: Record<string, string>) =>
      app.request("/admin/archive/runs", { method: "POST", headers });
    const noAuth = await post({});
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get("www-authenticate")).toBe('Bearer realm="gsk-archiver"');
    expect((await post({ Authorization: "Bearer nope" })).status).toBe(401);
    expect((await post({ Authorization: `Bearer ${READER_TOKEN}` })).status).toBe(403);

    for (const path of ["/admin/queues", "/admin/queues/", "/admin/queues/api/queues"]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Basic realm="gsk-archiver"');
    }
    const basic = (token: string) => ({
      Authorization: `Basic ${Buffer.from(`ops:${token}`).toString("base64")}`,
    });
    expect((await app.request("/admin/queues", { headers: basic("wrong") })).status).toBe(401);
    expect((await app.request("/admin/queues", { headers: basic(READER_TOKEN) })).status).toBe(403);
    expect((await app.request("/admin/queues/", { headers: basic(ADMIN_TOKEN) })).status).toBe(302);
    const page = await app.request("/admin/queues", { headers: basic(ADMIN_TOKEN) });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("GSK archiver");
    const api = await app.request("/admin/queues/api/queues", {
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(api.status).toBe(200);
    expect(JSON.stringify(await api.json())).toContain('"name":"archive"');
  });

  test("a writable board refuses changes from another site's page, even with the browser's Basic credentials", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const { archiver } = await startArchiver(
      archiverEnv([redis.url], mongo, { ARCHIVE_BOARD_READ_ONLY: "false" }),
      mongo,
    );
    const basic = `Basic ${Buffer.from(`ops:${ADMIN_TOKEN}`).toString("base64")}`;
    const clean = (headers: Record<string, string>) =>
      archiver.app.request("http://archiver.local/admin/queues/api/queues/archive/clean/completed", {
        method: "PUT",
        headers: { Authorization: basic, Host: "archiver.local", ...headers },
      });
    const forged = await clean({ Origin: "https://evil.example" });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { type: string }).type).toBe("urn:gsk:problem:cross_site");
    expect((await clean({ "Sec-Fetch-Site": "cross-site" })).status).toBe(403);
    expect((await clean({ Origin: "http://archiver.local" })).status).toBe(200);
    expect((await clean({})).status).toBe(200);
  });

  test("a run BullMQ failed on its own is recorded failed, not left running", async ({ redis, mongo }) => {
    await resetArchive(mongo);
    const { archiver } = await startArchiver(archiverEnv([redis.url], mongo), mongo);
    // A job BullMQ fails without the processor recording it (here: data refused before anything is
    // written), and a "running" document as a pod that died mid-run leaves it.
    const job = await archiver.queue.add(
      "archive",
      { trigger: "nonsense" },
      { jobId: "stuck-run", attempts: 1 },
    );
    await waitFor(async () => (await job.getState()) === "failed", "job failed in BullMQ");
    await archiver.archive.runs.insertOne({
      _id: "stuck-run",
      trigger: "manual",
      startedAt: new Date(),
      finishedAt: null,
      status: "running",
      attempts: 1,
      durationMs: null,
      scanned: 0,
      vanished: 0,
      inserted: 0,
      unchanged: 0,
      failed: 0,
    });
    await archiver.reconcile();
    const run = await archiver.archive.runs.findOne({ _id: "stuck-run" });
    expect(run).toMatchObject({ status: "failed", error: expect.stringContaining("invalid job data") });
    expect(run?.finishedAt).toBeInstanceOf(Date);
  });

  test("a second manual run while one waits answers 409", async ({ redis, mongo }) => {
    await resetArchive(mongo);
    const { archiver } = await startArchiver(archiverEnv([redis.url], mongo), mongo, { start: false });
    const post = () =>
      archiver.app.request("/admin/archive/runs", {
        method: "POST",
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      });
    expect((await post()).status).toBe(202);
    const busy = await post();
    expect(busy.status).toBe(409);
    expect((await busy.json()) as object).toMatchObject({ status: 409, title: "Conflict" });
    await archiver.queue.obliterate({ force: true });
  });

  test("health, readiness and gsk_archive_ metrics", async ({ redis, mongo }) => {
    await resetArchive(mongo);
    const { archiver } = await startArchiver(archiverEnv([redis.url], mongo), mongo);
    await runNow(archiver);
    expect((await archiver.app.request("/healthz")).status).toBe(200);
    expect((await archiver.app.request("/readyz")).status).toBe(200);
    const metrics = await (await archiver.app.request("/metrics")).text();
    expect(metrics).toContain('gsk_archive_runs_total{status="succeeded"} 1');
    expect(metrics).toContain("gsk_archive_last_success_timestamp_seconds");
    expect(metrics).toContain('gsk_archive_keys_total{outcome="inserted"}');
  });
});

describe("scheduling", () => {
  test("three archivers started together and restarted leave one scheduler and one delayed job; runs never overlap", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const env = archiverEnv([redis.url], mongo, { ARCHIVE_CRON: "0 3 * * *" });
    const started = await Promise.all([0, 1, 2].map(() => startArchiver(env, mongo)));
    await Promise.all(started.map((s) => s.archiver.stop()));
    const again = await Promise.all([0, 1, 2].map(() => startArchiver(env, mongo)));
    const queue = again[0]!.archiver.queue;
    expect(await queue.getJobSchedulers()).toHaveLength(1);
    expect(await queue.getDelayedCount()).toBe(1);
    const scheduler = (await queue.getJobSchedulers())[0];
    expect(scheduler).toMatchObject({ pattern: "0 3 * * *", tz: "UTC" });

    for (let i = 0; i < 200; i++) {
      await again[0]!.entries.write({ meta: meta({ webhookKey: `s${i}` }), dataJson: "1" });
    }
    const jobs = await Promise.all(
      [1, 2, 3, 4].map((i) => queue.add("archive", { trigger: "manual" }, { jobId: `overlap-${i}` })),
    );
    await waitFor(
      async () =>
        (await again[0]!.archiver.archive.runs.countDocuments({ status: "succeeded" })) === jobs.length,
      "4 runs",
      60_000,
      200,
    );
    const runs = await again[0]!.archiver.archive.runs.find({}).sort({ startedAt: 1 }).toArray();
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]!.startedAt.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.finishedAt!.getTime());
    }
  }, 90_000);
});
