// GET /v1/data/{webhookKey}/history on real Redis and MongoDB (MONGO_URL, or the test server).
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { ArchivedEntryDoc } from "@gsk/schema";
import { exited, freePort, type MongoInstance, planStages, spawnNode, test, waitFor } from "@gsk/testing";
import { describe, expect } from "vitest";
import { findHistoryPage } from "./routes/history.ts";
import { auth, buildApi, json, TOKENS } from "./test-support.ts";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const HOUR = 3_600_000;

/** The archive's entries collection with the archiver's unique index, emptied. */
async function entriesOf(mongo: MongoInstance) {
  const entries = mongo.db.collection<ArchivedEntryDoc>("entries");
  await entries.deleteMany({});
  await entries.createIndex({ webhookKey: 1, producedAt: -1, eventId: 1 }, { unique: true });
  return entries;
}

/** `n` versions of `webhookKey`, an hour apart, the newest an hour ago. */
function versions(webhookKey: string, n: number, over: Partial<ArchivedEntryDoc> = {}): ArchivedEntryDoc[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => {
    const producedAt = new Date(now - (i + 1) * HOUR);
    return {
      webhookKey,
      accountId: "acme",
      flowId: "orders",
      data: { version: n - i },
      eventId: `e-${String(n - i).padStart(3, "0")}`,
      producedAt,
      storedAt: new Date(producedAt.getTime() + 1000),
      expiresAt: null,
      firstArchivedAt: new Date(now - 60_000),
      lastArchivedAt: new Date(now - 60_000),
      runId: "run-1",
      ...over,
    };
  });
}

const history = (
  app: { request: (url: string, init: RequestInit) => Response | Promise<Response> },
  path: string,
  token: string = TOKENS.reader,
) => Promise.resolve(app.request(`/v1/data/${path}`, { headers: auth(token) }));

describe("GET /v1/data/{webhookKey}/history", () => {
  test("pages newest first with a cursor, stable while a run adds newer versions between pages", async ({
    redis,
    mongo,
  }) => {
    const entries = await entriesOf(mongo);
    await entries.insertMany(versions("hist", 25));
    const { app } = await buildApi({ redisUrl: redis.url, archive: entries });

    const first = await history(app, "hist/history?limit=10");
    expect(first.status).toBe(200);
    const page1 = await json(first);
    expect(page1.versions).toHaveLength(10);
    expect(page1.versions[0]).toMatchObject({
      webhookKey: "hist",
      accountId: "acme",
      flowId: "orders",
      data: { version: 25 },
      eventId: "e-025",
      expiresAt: null,
      firstArchivedAt: expect.stringMatching(/Z$/),
      lastArchivedAt: expect.stringMatching(/Z$/),
    });
    expect(page1.versions[0]).not.toHaveProperty("runId");
    // A run archives newer versions and moves lastArchivedAt on the old ones meanwhile.
    await entries.insertMany(
      versions("hist", 3).map((v, i) => ({
        ...v,
        producedAt: new Date(Date.now() - i * 1000),
        eventId: `new-${i}`,
      })),
    );
    await entries.updateMany(
      { webhookKey: "hist" },
      { $set: { lastArchivedAt: new Date(), runId: "run-2" } },
    );
    const page2 = await json(await history(app, `hist/history?limit=10&before=${page1.next}`));
    const page3 = await json(await history(app, `hist/history?limit=10&before=${page2.next}`));
    expect(page3.next).toBeNull();
    const seen = [...page1.versions, ...page2.versions, ...page3.versions].map(
      (v: { eventId: string }) => v.eventId,
    );
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `e-${String(25 - i).padStart(3, "0")}`));
  });

  test("orders versions with the same producedAt by eventId, across a page boundary", async ({
    redis,
    mongo,
  }) => {
    const entries = await entriesOf(mongo);
    const at = new Date(Date.now() - HOUR);
    await entries.insertMany(
      ["b", "a", "c"].map((eventId) => ({ ...versions("tie", 1)[0]!, producedAt: at, eventId })),
    );
    const { app } = await buildApi({ redisUrl: redis.url, archive: entries });
    const page1 = await json(await history(app, "tie/history?limit=2"));
    const page2 = await json(await history(app, `tie/history?limit=2&before=${page1.next}`));
    expect([...page1.versions, ...page2.versions].map((v: { eventId: string }) => v.eventId)).toEqual([
      "a",
      "b",
      "c",
    ]);
    expect(page2.next).toBeNull();
  });

  test("shows a token only its accounts' versions: none left is 404", async ({ redis, mongo }) => {
    const entries = await entriesOf(mongo);
    await entries.insertMany([
      ...versions("shared", 2),
      ...versions("shared", 2, { accountId: "beta" }).map((v) => ({ ...v, eventId: `${v.eventId}-beta` })),
      ...versions("beta-only", 1, { accountId: "beta" }),
    ]);
    const { app } = await buildApi({ redisUrl: redis.url, archive: entries });
    const acme = await json(await history(app, "shared/history", TOKENS.acme));
    expect(acme.versions.map((v: { accountId: string }) => v.accountId)).toEqual(["acme", "acme"]);
    expect((await history(app, "shared/history")).status).toBe(200);
    expect((await json(await history(app, "shared/history"))).versions).toHaveLength(4);
    expect((await history(app, "beta-only/history", TOKENS.acme)).status).toBe(404);
    expect((await history(app, "never-archived/history")).status).toBe(404);
  });

  test("refuses bad limits and cursors with 400 naming them, and needs data:read", async ({
    redis,
    mongo,
  }) => {
    const entries = await entriesOf(mongo);
    await entries.insertMany(versions("k", 1));
    const { app } = await buildApi({ redisUrl: redis.url, archive: entries });
    for (const query of ["limit=0", "limit=101", "limit=ten"]) {
      const res = await history(app, `k/history?${query}`);
      expect(res.status, query).toBe(400);
      expect((await json(res)).detail).toContain("limit");
    }
    for (const before of ["not-a-cursor", Buffer.from('["x",1]').toString("base64url"), "a%2Fb"]) {
      const res = await history(app, `k/history?before=${before}`);
      expect(res.status, before).toBe(400);
      expect((await json(res)).detail).toContain("before");
    }
    expect((await history(app, "bad%20key/history")).status).toBe(400);
    expect((await history(app, "k/history", TOKENS.admin)).status).toBe(403);
  });

  test("reads through the archive's unique index: no collection scan, no sort stage", async ({ mongo }) => {
    const entries = await entriesOf(mongo);
    await entries.insertMany([...versions("idx", 30), ...versions("other", 30)]);
    for (const page of [
      { webhookKey: "idx", accounts: "*" as const, limit: 20 },
      {
        webhookKey: "idx",
        accounts: new Set(["acme"]),
        limit: 20,
        after: [Date.now() - 5 * HOUR, "e-025"] as [number, string],
      },
    ]) {
      const stages = planStages(await findHistoryPage(entries, page).explain("queryPlanner"));
      expect(stages).toContain("IXSCAN");
      expect(stages).not.toContain("COLLSCAN");
      expect(stages).not.toContain("SORT");
    }
  });

  test("the process: off without MONGO_URL (404); with MongoDB cut, 503 with Retry-After on this route only", async ({
    redis,
    mongo,
  }) => {
    const entries = await entriesOf(mongo);
    await entries.insertMany(versions("proc", 2));
    const sha256 = createHash("sha256").update(TOKENS.reader).digest("hex");
    const start = async (extra: Record<string, string>) => {
      const port = await freePort();
      const run = spawnNode(MAIN, [], {
        REDIS_URL: redis.url,
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        API_TOKENS: JSON.stringify([{ id: "r", sha256, scopes: ["data:read"], accounts: ["*"] }]),
        ...extra,
      });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/readyz`)).ok, "ready", 15_000, 100);
      return {
        ...run,
        base,
        get: (path: string) => fetch(`${base}${path}`, { headers: auth(TOKENS.reader) }),
      };
    };
    const without = await start({});
    expect((await without.get("/v1/data/proc/history")).status).toBe(404);
    without.child.kill("SIGTERM");
    await exited(without.child);

    const api = await start({ MONGO_URL: mongo.url, MONGO_DB: mongo.dbName });
    expect((await json(await api.get("/v1/data/proc/history"))).versions).toHaveLength(2);
    await mongo.cut();
    try {
      const started = performance.now();
      const cut = await api.get("/v1/data/proc/history");
      expect(cut.status).toBe(503);
      expect(cut.headers.get("retry-after")).toBe("5");
      expect(performance.now() - started).toBeLessThan(8000);
      expect((await fetch(`${api.base}/readyz`)).status).toBe(200);
      expect((await api.get("/v1/data/proc")).status).toBe(404);
    } finally {
      await mongo.restore();
    }
    await waitFor(
      async () => (await api.get("/v1/data/proc/history")).status === 200,
      "archive back",
      15_000,
      200,
    );
    api.child.kill("SIGTERM");
    await exited(api.child);
    expect(api.child.exitCode).toBe(0);
  });
});
