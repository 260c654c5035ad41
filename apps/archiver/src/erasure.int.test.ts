// Erasure: POST /admin/erasures and the CLI's erase, on real Redis and MongoDB.
import { fileURLToPath } from "node:url";
import { spawnNode, test, waitFor } from "@gsk/testing";
import { describe, expect } from "vitest";
import type { ErasureDoc } from "./collections.ts";
import {
  ADMIN_TOKEN,
  archiverEnv,
  meta,
  READER_TOKEN,
  resetArchive,
  runNow,
  startArchiver,
} from "./test-support.ts";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

type Started = Awaited<ReturnType<typeof startArchiver>>;

/** Three customers' data, live and archived: acme/orders (10 keys), acme/returns (1), beta (1). */
async function seed({ archiver, entries }: Started) {
  for (let i = 0; i < 10; i++)
    await entries.write({ meta: meta({ webhookKey: `ord-${i}`, flowId: "orders" }), dataJson: `{"n":${i}}` });
  await entries.write({ meta: meta({ webhookKey: "ret-1", flowId: "returns" }), dataJson: "1" });
  await entries.write({ meta: meta({ webhookKey: "beta-1", accountId: "beta" }), dataJson: "2" });
  expect(await runNow(archiver)).toMatchObject({ inserted: 12 });
}

async function requestErasure(started: Started, body: unknown, token = ADMIN_TOKEN) {
  return started.archiver.app.request("/admin/erasures", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function finished(started: Started, erasureId: string): Promise<ErasureDoc> {
  return waitFor(
    async () => {
      const doc = await started.archiver.archive.erasures.findOne({ _id: erasureId });
      return doc && doc.status !== "running" ? doc : undefined;
    },
    `erasure ${erasureId}`,
    20_000,
    100,
  );
}

describe("erasure", () => {
  test("removes a flow's live entries and archived versions, keeps the rest, and records no data", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const started = await startArchiver(archiverEnv([redis.url], mongo), mongo);
    await seed(started);
    const res = await requestErasure(started, { accountId: "acme", flowId: "orders" });
    expect(res.status).toBe(202);
    const { erasureId } = (await res.json()) as { erasureId: string };
    const doc = await finished(started, erasureId);
    expect(doc).toMatchObject({
      status: "succeeded",
      accountId: "acme",
      flowId: "orders",
      webhookKeys: null,
      redisDeleted: 10,
      archiveDeleted: 10,
      requestedAt: expect.any(Date),
      finishedAt: expect.any(Date),
    });
    expect(JSON.stringify(doc)).not.toContain('"n"');
    for (let i = 0; i < 10; i++) expect(await started.entries.read(`ord-${i}`)).toBeNull();
    expect(await started.entries.read("ret-1")).not.toBeNull();
    expect(await started.entries.read("beta-1")).not.toBeNull();
    const archived = await started.archiver.archive.entries.find({}).toArray();
    expect(archived.map((e) => e.webhookKey).sort()).toEqual(["beta-1", "ret-1"]);
  });

  test("an erasure queued with an archive run never overlaps it: nothing of the account is archived after both", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const started = await startArchiver(archiverEnv([redis.url], mongo), mongo, { start: false });
    for (let i = 0; i < 300; i++)
      await started.entries.write({ meta: meta({ webhookKey: `race-${i}` }), dataJson: String(i) });
    await started.entries.write({ meta: meta({ webhookKey: "keep", accountId: "beta" }), dataJson: "0" });
    // Both are queued before any worker runs, the run first: the erasure must wait for it.
    const run = await started.archiver.app.request("/admin/archive/runs", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(run.status).toBe(202);
    const erasure = await requestErasure(started, { accountId: "acme" });
    const { erasureId } = (await erasure.json()) as { erasureId: string };
    await started.archiver.start();
    const doc = await finished(started, erasureId);
    expect(doc).toMatchObject({ status: "succeeded", redisDeleted: 300, archiveDeleted: 300 });
    const { runId } = (await run.json()) as { runId: string };
    const runDoc = await started.archiver.archive.runs.findOne({ _id: runId });
    expect(runDoc).toMatchObject({ status: "succeeded", inserted: 301 });
    // The run finished before the erasure began.
    expect(runDoc?.finishedAt?.getTime()).toBeLessThanOrEqual(doc.finishedAt?.getTime() ?? 0);
    expect(await started.archiver.archive.entries.countDocuments({ accountId: "acme" })).toBe(0);
    expect(await started.archiver.archive.entries.countDocuments({ accountId: "beta" })).toBe(1);
  });

  test("refuses a bad body (400), no token (401) and a token without archive:admin (403)", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const started = await startArchiver(archiverEnv([redis.url], mongo), mongo, { start: false });
    const bad = await requestErasure(started, { accountId: "-bad", webhookKeys: [] });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { detail: string };
    expect(problem.detail).toContain("accountId");
    expect(problem.detail).toContain("webhookKeys");
    expect((await requestErasure(started, { flowId: "x" })).status).toBe(400);
    const none = await started.archiver.app.request("/admin/erasures", { method: "POST", body: "{}" });
    expect(none.status).toBe(401);
    expect((await requestErasure(started, { accountId: "acme" }, READER_TOKEN)).status).toBe(403);
  });

  test("the CLI's erase waits for the erasure, prints progress, and status lists it", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const env = archiverEnv([redis.url], mongo);
    const started = await startArchiver(env, mongo);
    await seed(started);
    const run = spawnNode(
      CLI,
      ["erase", "--account", "acme", "--key", "ord-1", "--key", "ret-1", "--key", "beta-1"],
      env,
    );
    expect(await run.exit(), run.stderr()).toBe(0);
    const result = JSON.parse(run.stdout().trim().split("\n").at(-1) ?? "null");
    expect(result).toMatchObject({
      erasureId: expect.stringMatching(/^erasure-/),
      redisDeleted: 2,
      archiveDeleted: 2,
    });
    expect(run.stderr()).toContain("queued erasure");
    expect(await started.entries.read("beta-1")).not.toBeNull();
    const status = spawnNode(CLI, ["status"], env);
    expect(await status.exit()).toBe(0);
    const listed = JSON.parse(status.stdout().trim().split("\n").at(-1) ?? "null");
    expect(listed.erasures[0]).toMatchObject({
      _id: result.erasureId,
      status: "succeeded",
      webhookKeys: ["ord-1", "ret-1", "beta-1"],
    });
    const noAccount = spawnNode(CLI, ["erase", "--key", "k"], env);
    expect(await noAccount.exit()).toBe(2);
    expect(noAccount.stderr()).toContain("erase needs --account");
  });
});
