// MongoDB's documented behaviour for every command the project uses, through the official driver.
// Runs against the wire-protocol test server, or against a real MongoDB when MONGO_URL is set.
import { Long, MongoBulkWriteError, MongoServerError, ObjectId } from "mongodb";
import { describe, expect } from "vitest";
import { test } from "../fixtures.ts";
import { planStages } from "./index.ts";

let n = 0;
const fresh = () => `c${++n}`;

async function serverError(promise: Promise<unknown>): Promise<MongoServerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MongoServerError);
  return error as MongoServerError;
}

describe("handshake and admin commands", () => {
  test("hello, ping and buildInfo answer", async ({ mongo }) => {
    expect(await mongo.db.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const hello = await mongo.db.admin().command({ hello: 1 });
    expect(hello).toMatchObject({ isWritablePrimary: true, ok: 1 });
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(8);
    const info = await mongo.db.admin().command({ buildInfo: 1 });
    expect(info.version).toMatch(/^\d+\.\d+/);
  });

  test("an unknown command fails with CommandNotFound (59)", async ({ mongo }) => {
    const error = await serverError(mongo.db.command({ noSuchCommand: 1 }));
    expect(error.code).toBe(59);
    expect(error.codeName).toBe("CommandNotFound");
  });

  test("endSessions is accepted", async ({ mongo }) => {
    const session = mongo.client.startSession();
    await mongo.db.collection(fresh()).findOne({}, { session });
    await session.endSession();
    expect(await mongo.db.admin().command({ endSessions: [] })).toMatchObject({ ok: 1 });
  });
});

describe("insert and find", () => {
  test("insert assigns an ObjectId _id and keeps every BSON type it is given", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    const at = new Date("2026-01-02T03:04:05.678Z");
    const { insertedId } = await coll.insertOne({
      s: "x",
      n: 1.5,
      i: 7,
      d: at,
      nul: null,
      arr: [1, "a"],
      o: { k: true },
    });
    expect(insertedId).toBeInstanceOf(ObjectId);
    const doc = await coll.findOne({ _id: insertedId });
    expect(doc).toEqual({
      _id: insertedId,
      s: "x",
      n: 1.5,
      i: 7,
      d: at,
      nul: null,
      arr: [1, "a"],
      o: { k: true },
    });
    expect(doc?.d).toBeInstanceOf(Date);
  });

  test("find filters, sorts, projects, skips and limits", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertMany(
      Array.from({ length: 10 }, (_, i) => ({ _id: i, g: i % 2, v: 10 - i, tag: `t${i}` })) as never,
    );
    const docs = await coll
      .find({ g: 0, v: { $gte: 2 } }, { projection: { _id: 0, v: 1 } })
      .sort({ v: 1 })
      .skip(1)
      .limit(2)
      .toArray();
    expect(docs).toEqual([{ v: 4 }, { v: 6 }]);
    expect(await coll.find({ tag: { $in: ["t1", "t3"] } }).toArray()).toHaveLength(2);
    expect(await coll.find({ missing: { $exists: false } }).toArray()).toHaveLength(10);
    expect(
      await coll.find({ $or: [{ _id: 1 }, { _id: 2 }] } as never, { sort: { _id: -1 } }).toArray(),
    ).toEqual([
      { _id: 2, g: 0, v: 8, tag: "t2" },
      { _id: 1, g: 1, v: 9, tag: "t1" },
    ]);
  });

  test("cursors page with getMore and die with killCursors", async ({ mongo }) => {
    const name = fresh();
    const coll = mongo.db.collection(name);
    await coll.insertMany(Array.from({ length: 25 }, (_, i) => ({ _id: i })) as never);
    expect((await coll.find({}, { batchSize: 4 }).sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
    const first = await mongo.db.command({ find: name, batchSize: 3, sort: { _id: 1 } });
    expect(first.cursor.firstBatch).toHaveLength(3);
    const id = first.cursor.id as Long;
    expect(Long.fromValue(id).isZero()).toBe(false);
    const next = await mongo.db.command({ getMore: id, collection: name, batchSize: 5 });
    expect(next.cursor.nextBatch.map((d: { _id: number }) => d._id)).toEqual([3, 4, 5, 6, 7]);
    const killed = await mongo.db.command({ killCursors: name, cursors: [id] });
    expect(killed.cursorsKilled.map(String)).toEqual([String(id)]);
    const error = await serverError(mongo.db.command({ getMore: id, collection: name }));
    expect(error.code).toBe(43);
  });

  test("a find that fits one batch returns cursor id 0", async ({ mongo }) => {
    const name = fresh();
    await mongo.db.collection(name).insertMany([{ a: 1 }, { a: 2 }]);
    const reply = await mongo.db.command({ find: name, filter: {} });
    expect(reply.cursor.firstBatch).toHaveLength(2);
    expect(Long.fromValue(reply.cursor.id).isZero()).toBe(true);
    expect(reply.cursor.ns).toBe(`${mongo.dbName}.${name}`);
  });
});

describe("update", () => {
  test("$set, $unset, $inc, $min, $max and $push change what they name", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertOne({ _id: 1, a: 1, b: 2, lo: 5, hi: 5, list: [1], gone: true } as never);
    const result = await coll.updateOne(
      { _id: 1 } as never,
      {
        $set: { a: 10, "nested.x": 1 },
        $unset: { gone: "" },
        $inc: { b: 3, c: 1 },
        $min: { lo: 3 },
        $max: { hi: 9 },
        $push: { list: 2 },
      } as never,
    );
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({ _id: 1 } as never)).toEqual({
      _id: 1,
      a: 10,
      b: 5,
      lo: 3,
      hi: 9,
      list: [1, 2],
      nested: { x: 1 },
      c: 1,
    });
  });

  test("$min and $max leave a value that already wins; an unchanged document is not counted as modified", async ({
    mongo,
  }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertOne({ _id: 1, lo: 1, hi: 9, at: new Date(5000) } as never);
    const result = await coll.updateOne({ _id: 1 } as never, {
      $min: { lo: 4 },
      $max: { hi: 2, at: new Date(1000) },
    });
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    expect(await coll.findOne({ _id: 1 } as never)).toEqual({ _id: 1, lo: 1, hi: 9, at: new Date(5000) });
  });

  test("upsert inserts from the query's equalities with $setOnInsert, and later updates skip $setOnInsert", async ({
    mongo,
  }) => {
    const coll = mongo.db.collection(fresh());
    const update = (seen: Date) =>
      coll.updateOne(
        { key: "k", version: 1 },
        { $setOnInsert: { firstSeen: seen }, $set: { lastSeen: seen } },
        { upsert: true },
      );
    const inserted = await update(new Date(1000));
    expect(inserted).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedCount: 1 });
    expect(inserted.upsertedId).toBeInstanceOf(ObjectId);
    const updated = await update(new Date(2000));
    expect(updated).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null });
    const docs = await coll.find({}, { projection: { _id: 0 } }).toArray();
    expect(docs).toEqual([{ key: "k", version: 1, firstSeen: new Date(1000), lastSeen: new Date(2000) }]);
  });

  test("replacement keeps _id; multi updates every match", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertMany([
      { _id: 1, g: 1 },
      { _id: 2, g: 1 },
      { _id: 3, g: 2 },
    ] as never);
    expect(await coll.replaceOne({ _id: 3 } as never, { fresh: true })).toMatchObject({ modifiedCount: 1 });
    expect(await coll.findOne({ _id: 3 } as never)).toEqual({ _id: 3, fresh: true });
    expect(await coll.updateMany({ g: 1 }, { $inc: { g: 10 } })).toMatchObject({
      matchedCount: 2,
      modifiedCount: 2,
    });
    expect(await coll.countDocuments({ g: 11 })).toBe(2);
  });

  test("errors: $inc on a string (14), changing _id (66), an unknown modifier (9)", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertOne({ _id: 1, s: "text" } as never);
    expect((await serverError(coll.updateOne({ _id: 1 } as never, { $inc: { s: 1 } }))).code).toBe(14);
    expect((await serverError(coll.updateOne({ _id: 1 } as never, { $set: { _id: 2 } } as never))).code).toBe(
      66,
    );
    expect(
      (await serverError(coll.updateOne({ _id: 1 } as never, { $frobnicate: { s: 1 } } as never))).code,
    ).toBe(9);
    expect(await coll.findOne({ _id: 1 } as never)).toEqual({ _id: 1, s: "text" });
  });
});

describe("delete, count, distinct", () => {
  test("deleteOne removes one match, deleteMany all", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertMany([{ g: 1 }, { g: 1 }, { g: 1 }, { g: 2 }]);
    expect((await coll.deleteOne({ g: 1 })).deletedCount).toBe(1);
    expect((await coll.deleteMany({ g: 1 })).deletedCount).toBe(2);
    expect((await coll.deleteMany({ g: 3 })).deletedCount).toBe(0);
    expect(await coll.countDocuments()).toBe(1);
  });

  test("count honours query, skip and limit", async ({ mongo }) => {
    const name = fresh();
    await mongo.db.collection(name).insertMany(Array.from({ length: 10 }, (_, i) => ({ i })));
    expect(await mongo.db.command({ count: name, query: { i: { $lt: 7 } } })).toMatchObject({ n: 7, ok: 1 });
    expect(await mongo.db.command({ count: name, query: {}, skip: 8 })).toMatchObject({ n: 2 });
    expect(await mongo.db.command({ count: name, query: {}, limit: 3 })).toMatchObject({ n: 3 });
    expect(await mongo.db.collection(name).estimatedDocumentCount()).toBe(10);
    expect(await mongo.db.command({ count: fresh() })).toMatchObject({ n: 0 });
  });

  test("distinct returns each value once, unwinding arrays", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertMany([{ a: 1, t: ["x", "y"] }, { a: 2, t: ["y"] }, { a: 1, t: "z" }, { b: 1 }]);
    expect((await coll.distinct("a")).sort()).toEqual([1, 2]);
    expect((await coll.distinct("t")).sort()).toEqual(["x", "y", "z"]);
    expect(await coll.distinct("a", { t: "z" })).toEqual([1]);
  });
});

describe("aggregate", () => {
  test("$match, $group, $sort, $skip, $limit, $project and $count", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertMany(Array.from({ length: 12 }, (_, i) => ({ account: `a${i % 3}`, size: i })));
    const grouped = await coll
      .aggregate([
        { $match: { size: { $gte: 3 } } },
        { $group: { _id: "$account", total: { $sum: "$size" }, n: { $sum: 1 } } },
        { $sort: { total: -1 } },
        { $skip: 1 },
        { $limit: 1 },
        { $project: { _id: 0, account: "$_id", total: 1 } },
      ])
      .toArray();
    expect(grouped).toEqual([{ total: 21, account: "a1" }]);
    expect(await coll.aggregate([{ $match: { size: { $lt: 5 } } }, { $count: "small" }]).toArray()).toEqual([
      { small: 5 },
    ]);
    const batched = await coll.aggregate([{ $sort: { size: 1 } }], { batchSize: 5 }).toArray();
    expect(batched.map((d) => d.size)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  test("an unknown stage fails", async ({ mongo }) => {
    const error = await serverError(
      mongo.db
        .collection(fresh())
        .aggregate([{ $nope: {} }])
        .toArray(),
    );
    expect(error.code).toBe(40324);
  });
});

describe("findAndModify", () => {
  test("returns the document before or after, upserts, and removes", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertMany([
      { _id: 1, n: 1, q: "a" },
      { _id: 2, n: 2, q: "a" },
    ] as never);
    const before = await coll.findOneAndUpdate({ q: "a" }, { $inc: { n: 10 } }, { sort: { n: -1 } });
    expect(before).toEqual({ _id: 2, n: 2, q: "a" });
    const after = await coll.findOneAndUpdate(
      { _id: 1 } as never,
      { $set: { n: 5 } },
      { returnDocument: "after" },
    );
    expect(after).toEqual({ _id: 1, n: 5, q: "a" });
    const upserted = await coll.findOneAndUpdate(
      { _id: 9 } as never,
      { $set: { n: 9 } },
      { upsert: true, returnDocument: "after", projection: { n: 1 } },
    );
    expect(upserted).toEqual({ _id: 9, n: 9 });
    expect(await coll.findOneAndUpdate({ _id: 99 } as never, { $set: { n: 1 } })).toBeNull();
    expect(await coll.findOneAndDelete({ _id: 1 } as never)).toEqual({ _id: 1, n: 5, q: "a" });
    expect(await coll.countDocuments()).toBe(2);
  });

  test("the raw reply carries lastErrorObject", async ({ mongo }) => {
    const name = fresh();
    const reply = await mongo.db.command({
      findAndModify: name,
      query: { k: 1 },
      update: { $set: { v: 1 } },
      upsert: true,
      new: true,
    });
    expect(reply.lastErrorObject).toMatchObject({ n: 1, updatedExisting: false });
    expect(reply.value).toMatchObject({ k: 1, v: 1 });
  });
});

describe("indexes", () => {
  test("explain: a find on an index's first field, or sorted in its key order, scans the index; others scan the collection", async ({
    mongo,
  }) => {
    const coll = mongo.db.collection(fresh());
    await coll.createIndex({ webhookKey: 1, producedAt: -1, eventId: 1 }, { unique: true });
    for (let i = 0; i < 20; i++)
      await coll.insertOne({
        webhookKey: `k${i % 4}`,
        producedAt: new Date(1_000 * i),
        eventId: `e${i}`,
        accountId: "a",
      });
    const explain = (filter: object, sort?: object) => {
      const cursor = coll.find(filter);
      return (sort ? cursor.sort(sort as Record<string, 1 | -1>) : cursor).explain("queryPlanner");
    };
    const byKey = planStages(
      await explain({ webhookKey: "k1", accountId: { $in: ["a"] } }, { producedAt: -1, eventId: 1 }),
    );
    expect(byKey).toContain("IXSCAN");
    expect(byKey).not.toContain("COLLSCAN");
    expect(byKey).not.toContain("SORT");
    const byOther = planStages(await explain({ accountId: "a" }));
    expect(byOther).toContain("COLLSCAN");
    expect(byOther).not.toContain("IXSCAN");
  });

  test("a unique index rejects duplicates with E11000 (11000), keyPattern and keyValue", async ({
    mongo,
  }) => {
    const name = fresh();
    const coll = mongo.db.collection(name);
    const indexName = await coll.createIndex({ webhookKey: 1, producedAt: -1, eventId: 1 }, { unique: true });
    expect(indexName).toBe("webhookKey_1_producedAt_-1_eventId_1");
    const at = new Date("2026-01-02T03:04:05.678Z");
    await coll.insertOne({ webhookKey: "k", producedAt: at, eventId: "e1" });
    await coll.insertOne({ webhookKey: "k", producedAt: at, eventId: "e2" });
    const error = await serverError(coll.insertOne({ webhookKey: "k", producedAt: at, eventId: "e1" }));
    expect(error.code).toBe(11000);
    expect(error.message).toContain("E11000 duplicate key error collection:");
    expect(error.message).toContain(
      `${mongo.dbName}.${name} index: webhookKey_1_producedAt_-1_eventId_1 dup key:`,
    );
    expect(error.keyPattern).toEqual({ webhookKey: 1, producedAt: -1, eventId: 1 });
    expect(error.keyValue).toEqual({ webhookKey: "k", producedAt: at, eventId: "e1" });
    expect(await coll.countDocuments()).toBe(2);
  });

  test("an upsert that would duplicate a unique key fails; numbers of any type are one key", async ({
    mongo,
  }) => {
    const coll = mongo.db.collection(fresh());
    await coll.createIndex({ k: 1 }, { unique: true });
    await coll.insertOne({ k: 1, tag: "a" });
    const error = await serverError(coll.insertOne({ k: 1.0, tag: "b" }));
    expect(error.code).toBe(11000);
    await coll.insertOne({ k: 2, tag: "c" });
    expect((await serverError(coll.updateOne({ tag: "c" }, { $set: { k: 1 } }))).code).toBe(11000);
  });

  test("creating a unique index over duplicates fails; an identical index is a no-op", async ({ mongo }) => {
    const name = fresh();
    const coll = mongo.db.collection(name);
    await coll.insertMany([{ a: 1 }, { a: 1 }]);
    expect((await serverError(coll.createIndex({ a: 1 }, { unique: true }))).code).toBe(11000);
    await coll.createIndex({ b: 1 }, { name: "b_1" });
    const again = await mongo.db.command({ createIndexes: name, indexes: [{ key: { b: 1 }, name: "b_1" }] });
    expect(again).toMatchObject({ numIndexesBefore: 2, numIndexesAfter: 2, ok: 1 });
    const conflict = await serverError(
      mongo.db.command({ createIndexes: name, indexes: [{ key: { b: 1 }, name: "b_1", unique: true }] }),
    );
    expect([85, 86]).toContain(conflict.code);
  });

  test("listIndexes shows _id_ and created indexes, TTL included; collMod changes the TTL", async ({
    mongo,
  }) => {
    const name = fresh();
    const coll = mongo.db.collection(name);
    await coll.createIndex({ lastArchivedAt: 1 }, { expireAfterSeconds: 86_400, name: "retention" });
    const indexes = await coll.listIndexes().toArray();
    expect(indexes.map((i) => i.name)).toEqual(["_id_", "retention"]);
    expect(indexes[1]).toMatchObject({ key: { lastArchivedAt: 1 }, expireAfterSeconds: 86_400 });
    const mod = await mongo.db.command({
      collMod: name,
      index: { name: "retention", expireAfterSeconds: 3600 },
    });
    expect(mod).toMatchObject({ expireAfterSeconds_old: 86_400, expireAfterSeconds_new: 3600, ok: 1 });
    expect((await coll.listIndexes().toArray())[1]).toMatchObject({ expireAfterSeconds: 3600 });
    await coll.dropIndex("retention");
    expect((await coll.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_"]);
  });

  test("listIndexes on a missing collection fails with NamespaceNotFound (26)", async ({ mongo }) => {
    expect((await serverError(mongo.db.collection(fresh()).listIndexes().toArray())).code).toBe(26);
  });
});

describe("bulk writes", () => {
  test("ordered: false goes past errors and reports each one", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.createIndex({ k: 1 }, { unique: true });
    await coll.insertOne({ k: "taken" });
    const error = (await coll
      .bulkWrite(
        [
          { insertOne: { document: { k: "a" } } },
          { insertOne: { document: { k: "taken" } } },
          { updateOne: { filter: { k: "b" }, update: { $set: { v: 1 } }, upsert: true } },
          { updateOne: { filter: { k: "b" }, update: { $set: { k: "taken" } } } },
          { insertOne: { document: { k: "c" } } },
        ],
        { ordered: false },
      )
      .catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    expect(error.writeErrors).toHaveLength(2);
    const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    expect(errors.map((e) => [e.index, e.code])).toEqual([
      [1, 11000],
      [3, 11000],
    ]);
    expect(error.result.insertedCount).toBe(2);
    expect(error.result.upsertedCount).toBe(1);
    expect(
      (
        await coll
          .find({}, { projection: { _id: 0, k: 1 } })
          .sort({ k: 1 })
          .toArray()
      ).map((d) => d.k),
    ).toEqual(["a", "b", "c", "taken"]);
  });

  test("ordered: true stops at the first error", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.createIndex({ k: 1 }, { unique: true });
    const error = (await coll
      .insertMany([{ k: 1 }, { k: 1 }, { k: 2 }], { ordered: true })
      .catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(error.result.insertedCount).toBe(1);
    expect(await coll.countDocuments()).toBe(1);
  });
});

describe("collections and databases", () => {
  test("listCollections, drop (also of a missing collection) and dropDatabase", async ({ mongo }) => {
    const db = mongo.client.db(`${mongo.dbName}_x`);
    await db.collection("one").insertOne({ a: 1 });
    await db.collection("two").createIndex({ a: 1 });
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    expect(names).toEqual(["one", "two"]);
    expect((await db.listCollections({ name: "one" }).toArray()).map((c) => c.name)).toEqual(["one"]);
    expect(await db.collection("one").drop()).toBe(true);
    await db
      .collection("never-existed")
      .drop()
      .catch(() => undefined);
    expect((await db.listCollections().toArray()).map((c) => c.name)).toEqual(["two"]);
    await db.dropDatabase();
    expect(await db.listCollections().toArray()).toEqual([]);
  });
});

describe("outages", () => {
  test("a cut connection fails operations, and the driver recovers after restore", async ({ mongo }) => {
    const coll = mongo.db.collection(fresh());
    await coll.insertOne({ a: 1 });
    await mongo.cut();
    const client = new (mongo.client.constructor as typeof import("mongodb").MongoClient)(mongo.url, {
      serverSelectionTimeoutMS: 300,
    });
    await expect(client.db(mongo.dbName).collection("x").findOne({})).rejects.toThrow();
    await mongo.restore();
    expect(await coll.countDocuments()).toBe(1);
    await client.close();
  });
});
