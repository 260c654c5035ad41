import { calculateObjectSize, Long } from "bson";
import { Aggregator, find as mingoFind } from "mingo";
import { Collection, type IndexSpec } from "./collection.ts";
import { badValue, CommandError, failedToParse, notSupported } from "./errors.ts";
import { applyUpdate, isOperatorUpdate, seedFromQuery, withId } from "./update.ts";
import { isDocument, keyOf, show } from "./values.ts";

type Doc = Record<string, unknown>;

const MAX_BSON = 16 * 1024 * 1024;
const DEFAULT_FIRST_BATCH = 101;

interface Cursor {
  ns: string;
  docs: Doc[];
  at: number;
}

/**
 * Whether an index's key order (forward or backward) gives documents in `sort`'s order: the sort
 * must follow the key's fields after those the filter pins to one value.
 */
function indexServesSort(key: Doc, sort: Doc, filter: Doc): "forward" | "backward" | undefined {
  const sortFields = Object.entries(sort);
  const pinned = (field: string) =>
    Object.hasOwn(filter, field) &&
    (!isDocument(filter[field]) || Object.keys(filter[field] as Doc)[0] === "$eq");
  const allKeyFields = Object.entries(key);
  let start = 0;
  while (
    start < allKeyFields.length &&
    pinned(allKeyFields[start]?.[0] ?? "") &&
    allKeyFields[start]?.[0] !== sortFields[0]?.[0]
  )
    start++;
  const keyFields = allKeyFields.slice(start);
  if (sortFields.length === 0 || sortFields.length > keyFields.length) return undefined;
  const same = sortFields.every(
    ([f, d], i) => keyFields[i]?.[0] === f && Number(keyFields[i]?.[1]) === Number(d),
  );
  if (same) return "forward";
  const reversed = sortFields.every(
    ([f, d], i) => keyFields[i]?.[0] === f && Number(keyFields[i]?.[1]) === -Number(d),
  );
  return reversed ? "backward" : undefined;
}

/** The winning plan of a find: see the `explain` command. */
function planFor(indexes: IndexSpec[], filter: Doc, sort: Doc | undefined): Doc {
  const usable = indexes.filter((i) => !i.sparse && !i.partialFilterExpression);
  const constrained = usable.find((i) => Object.hasOwn(filter, Object.keys(i.key)[0] ?? ""));
  const byFilter =
    constrained ?? (sort ? usable.find((i) => indexServesSort(i.key, sort, filter)) : undefined);
  let plan: Doc = { stage: "COLLSCAN", direction: "forward" };
  let direction: "forward" | "backward" | undefined;
  if (byFilter) {
    direction = sort ? indexServesSort(byFilter.key, sort, filter) : "forward";
    plan = {
      stage: "FETCH",
      inputStage: {
        stage: "IXSCAN",
        keyPattern: byFilter.key,
        indexName: byFilter.name,
        direction: direction ?? "forward",
      },
    };
  }
  return sort && Object.keys(sort).length > 0 && !direction
    ? { stage: "SORT", sortPattern: sort, inputStage: plan }
    : plan;
}

/** Everything the test server stores: databases of collections, and open cursors. */
export class Engine {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  private readonly cursors = new Map<number, Cursor>();
  private nextCursorId = 1_000_000 + Math.floor(Math.random() * 1_000_000);

  collection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  private ensure(db: string, name: string): Collection {
    if (!name || name.includes("$") || name.startsWith(".")) {
      throw new CommandError(73, "InvalidNamespace", `Invalid collection name: ${name}`);
    }
    const colls = this.dbs.get(db) ?? new Map<string, Collection>();
    this.dbs.set(db, colls);
    const coll = colls.get(name) ?? new Collection(`${db}.${name}`);
    colls.set(name, coll);
    return coll;
  }

  /** Runs the TTL monitor once over every collection. */
  expire(now = Date.now()): number {
    let removed = 0;
    for (const colls of this.dbs.values()) for (const c of colls.values()) removed += c.expire(now);
    return removed;
  }

  private cursorReply(
    ns: string,
    docs: Doc[],
    batchSize: number | undefined,
    single: boolean,
    first: boolean,
  ): Doc {
    const batch = takeBatch(docs, 0, batchSize ?? (first ? DEFAULT_FIRST_BATCH : undefined));
    let id = 0;
    if (batch.length < docs.length && !single) {
      id = this.nextCursorId++;
      this.cursors.set(id, { ns, docs, at: batch.length });
    }
    return { cursor: { [first ? "firstBatch" : "nextBatch"]: batch, id: Long.fromNumber(id), ns }, ok: 1 };
  }

  /** Runs one command against database `db`; throws CommandError for MongoDB's `ok: 0` answers. */
  run(db: string, cmd: Doc): Doc {
    const name = Object.keys(cmd)[0] ?? "";
    const handler = this.handlers[name];
    if (!handler) {
      throw new CommandError(59, "CommandNotFound", `no such command: '${name}'`);
    }
    return handler(db, cmd);
  }

  private collName(cmd: Doc, name: string): string {
    const value = cmd[name];
    if (typeof value !== "string") {
      throw new CommandError(73, "InvalidNamespace", `collection name has invalid type ${typeof value}`);
    }
    return value;
  }

  private readonly handlers: Record<string, (db: string, cmd: Doc) => Doc> = {
    ping: () => ({ ok: 1 }),
    buildInfo: () => ({
      version: "7.0.0",
      gitVersion: "gsk-test-server",
      versionArray: [7, 0, 0, 0],
      bits: 64,
      maxBsonObjectSize: MAX_BSON,
      ok: 1,
    }),
    buildinfo: (db, cmd) => this.handlers.buildInfo!(db, cmd),
    endSessions: () => ({ ok: 1 }),
    listDatabases: () => ({
      databases: [...this.dbs.keys()].map((name) => ({ name, sizeOnDisk: 0, empty: false })),
      totalSize: 0,
      ok: 1,
    }),

    insert: (db, cmd) => {
      const coll = this.ensure(db, this.collName(cmd, "insert"));
      const docs = cmd.documents;
      if (!Array.isArray(docs))
        throw failedToParse("BSON field 'insert.documents' is missing but a required field");
      return writeLoop(cmd, docs, (doc) => {
        coll.insert(withId(doc as Doc));
        return { n: 1 };
      });
    },

    update: (db, cmd) => {
      const coll = this.ensure(db, this.collName(cmd, "update"));
      const updates = cmd.updates;
      if (!Array.isArray(updates))
        throw failedToParse("BSON field 'update.updates' is missing but a required field");
      const upserted: Doc[] = [];
      let nModified = 0;
      const reply = writeLoop(cmd, updates, (spec, index) => {
        const { q = {}, u, upsert = false, multi = false } = spec as Doc;
        if (!isDocument(q)) throw failedToParse("BSON field 'update.updates.q' is the wrong type");
        if (Array.isArray(u)) throw notSupported("a pipeline-style update");
        if (!isDocument(u)) throw failedToParse("BSON field 'update.updates.u' is the wrong type");
        if (multi && !isOperatorUpdate(u) && Object.keys(u).length > 0) {
          throw failedToParse("multi update is not supported for replacement-style update");
        }
        const matched = coll.match(q);
        const targets = multi ? matched : matched.slice(0, 1);
        if (targets.length === 0 && upsert) {
          const doc = withId(applyUpdate(seedFromQuery(q), u, true));
          coll.insert(doc);
          upserted.push({ index, _id: doc._id });
          return { n: 1 };
        }
        for (const old of targets) {
          const next = applyUpdate(old, u, false);
          if (keyOf(next) !== keyOf(old)) {
            coll.replace(old, next);
            nModified++;
          }
        }
        return { n: targets.length };
      });
      reply.nModified = nModified;
      if (upserted.length > 0) reply.upserted = upserted;
      return reply;
    },

    delete: (db, cmd) => {
      const coll = this.collection(db, this.collName(cmd, "delete"));
      const deletes = cmd.deletes;
      if (!Array.isArray(deletes))
        throw failedToParse("BSON field 'delete.deletes' is missing but a required field");
      return writeLoop(cmd, deletes, (spec) => {
        const { q = {}, limit } = spec as Doc;
        if (limit !== 0 && limit !== 1)
          throw failedToParse("The limit field in delete objects must be 0 or 1");
        if (!coll) return { n: 0 };
        const matched = coll.match(q as Doc);
        const targets = limit === 1 ? matched.slice(0, 1) : matched;
        for (const doc of targets) coll.remove(doc);
        return { n: targets.length };
      });
    },

    find: (db, cmd) => {
      const name = this.collName(cmd, "find");
      const coll = this.collection(db, name);
      const limit = Number(cmd.limit ?? 0);
      const skip = Number(cmd.skip ?? 0);
      if (skip < 0) throw badValue("skip value must be non-negative");
      const batchSize = cmd.batchSize === undefined ? undefined : Number(cmd.batchSize);
      if (batchSize !== undefined && batchSize < 0) throw badValue("batchSize value must be non-negative");
      const filter = (cmd.filter ?? {}) as Doc;
      const docs = coll
        ? query(coll.match(filter), cmd.sort as Doc, cmd.projection as Doc, skip, Math.abs(limit))
        : [];
      const first = limit < 0 ? Math.abs(limit) : batchSize;
      return this.cursorReply(`${db}.${name}`, docs, first, cmd.singleBatch === true || limit < 0, true);
    },

    // The query planner's choice for a find, as MongoDB's `explain` reports it (verbosity
    // queryPlanner): an index whose first field the filter constrains, or whose key order serves
    // the sort, is scanned (IXSCAN under FETCH); otherwise the collection is (COLLSCAN).
    explain: (db, cmd) => {
      const inner = cmd.explain;
      if (!isDocument(inner) || Object.keys(inner)[0] !== "find")
        throw notSupported("explain of anything but find");
      const name = this.collName(inner, "find");
      const filter = (inner.filter ?? {}) as Doc;
      const sort = (inner.sort ?? undefined) as Doc | undefined;
      const indexes = this.collection(db, name)?.indexes ?? [];
      return {
        queryPlanner: {
          namespace: `${db}.${name}`,
          parsedQuery: filter,
          winningPlan: planFor(indexes, filter, sort),
          rejectedPlans: [],
        },
        explainVersion: "1",
        ok: 1,
      };
    },

    getMore: (_db, cmd) => {
      const id = Number(cmd.getMore);
      const cursor = this.cursors.get(id);
      if (!cursor) throw new CommandError(43, "CursorNotFound", `cursor id ${id} not found`);
      const batch = takeBatch(
        cursor.docs,
        cursor.at,
        cmd.batchSize === undefined ? undefined : Number(cmd.batchSize),
      );
      cursor.at += batch.length;
      const done = cursor.at >= cursor.docs.length;
      if (done) this.cursors.delete(id);
      return { cursor: { nextBatch: batch, id: Long.fromNumber(done ? 0 : id), ns: cursor.ns }, ok: 1 };
    },

    killCursors: (_db, cmd) => {
      const ids = (cmd.cursors as unknown[] | undefined) ?? [];
      const killed: Long[] = [];
      const notFound: Long[] = [];
      for (const raw of ids) {
        const id = Number(raw);
        (this.cursors.delete(id) ? killed : notFound).push(Long.fromNumber(id));
      }
      return {
        cursorsKilled: killed,
        cursorsNotFound: notFound,
        cursorsAlive: [],
        cursorsUnknown: [],
        ok: 1,
      };
    },

    aggregate: (db, cmd) => {
      const name = this.collName(cmd, "aggregate");
      const pipeline = cmd.pipeline;
      if (!Array.isArray(pipeline)) throw failedToParse("'pipeline' option must be specified as an array");
      if (!isDocument(cmd.cursor)) {
        throw failedToParse(
          "The 'cursor' option is required, except for aggregate with the explain argument",
        );
      }
      for (const stage of pipeline as Doc[]) {
        const stageName = Object.keys(stage)[0] ?? "";
        if (!SUPPORTED_STAGES.has(stageName)) {
          if (KNOWN_STAGES.has(stageName)) throw notSupported(`the aggregation stage ${stageName}`);
          throw new CommandError(40324, "Location40324", `Unrecognized pipeline stage name: '${stageName}'`);
        }
      }
      const coll = this.collection(db, name);
      let source = coll?.all() ?? [];
      const [first, ...rest] = pipeline as Doc[];
      if (coll && first && isDocument(first.$match)) source = coll.match(first.$match);
      const stages = first && isDocument(first.$match) && coll ? rest : (pipeline as Doc[]);
      const docs = new Aggregator(stages).run(source) as Doc[];
      const batchSize = (cmd.cursor as Doc).batchSize;
      return this.cursorReply(
        `${db}.${name}`,
        docs,
        batchSize === undefined ? undefined : Number(batchSize),
        false,
        true,
      );
    },

    count: (db, cmd) => {
      const coll = this.collection(db, this.collName(cmd, "count"));
      const skip = Number(cmd.skip ?? 0);
      const limit = Math.abs(Number(cmd.limit ?? 0));
      let n = coll ? coll.match((cmd.query ?? {}) as Doc).length : 0;
      n = Math.max(0, n - skip);
      if (limit > 0) n = Math.min(n, limit);
      return { n, ok: 1 };
    },

    distinct: (db, cmd) => {
      const coll = this.collection(db, this.collName(cmd, "distinct"));
      if (typeof cmd.key !== "string")
        throw failedToParse("BSON field 'distinct.key' is missing but a required field");
      const key = cmd.key;
      const seen = new Map<string, unknown>();
      for (const doc of coll?.match((cmd.query ?? {}) as Doc) ?? []) {
        const values = mingoFind([doc], {}, { [key]: 1, _id: key === "_id" ? 1 : 0 }).all();
        const value = key
          .split(".")
          .reduce<unknown>((v, part) => (isDocument(v) ? v[part] : undefined), values[0]);
        for (const v of Array.isArray(value) ? value : [value]) {
          if (v !== undefined) seen.set(keyOf(v), v);
        }
      }
      return { values: [...seen.values()], ok: 1 };
    },

    findAndModify: (db, cmd) => {
      const coll = this.ensure(db, this.collName(cmd, "findAndModify"));
      const q = (cmd.query ?? {}) as Doc;
      const remove = cmd.remove === true;
      const u = cmd.update as Doc | undefined;
      if (remove && u !== undefined) throw failedToParse("Cannot specify both an update and remove=true");
      if (!remove && u === undefined)
        throw failedToParse("Either an update or remove=true must be specified");
      if (Array.isArray(u)) throw notSupported("a pipeline-style update");
      const [target] = query(coll.match(q), cmd.sort as Doc, undefined, 0, 1);
      const project = (doc: Doc | undefined) =>
        doc && cmd.fields ? (mingoFind([doc], {}, cmd.fields as Doc).all()[0] as Doc) : (doc ?? null);
      if (remove) {
        if (target) coll.remove(target);
        return { lastErrorObject: { n: target ? 1 : 0 }, value: project(target), ok: 1 };
      }
      if (!target) {
        if (cmd.upsert !== true)
          return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 };
        const doc = withId(applyUpdate(seedFromQuery(q), u as Doc, true));
        coll.insert(doc);
        return {
          lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
          value: cmd.new === true ? project(doc) : null,
          ok: 1,
        };
      }
      const next = applyUpdate(target, u as Doc, false);
      if (keyOf(next) !== keyOf(target)) coll.replace(target, next);
      return {
        lastErrorObject: { n: 1, updatedExisting: true },
        value: project(cmd.new === true ? next : target),
        ok: 1,
      };
    },

    create: (db, cmd) => {
      const name = this.collName(cmd, "create");
      if (this.collection(db, name)) {
        throw new CommandError(48, "NamespaceExists", `Collection ${db}.${name} already exists.`);
      }
      this.ensure(db, name);
      return { ok: 1 };
    },

    createIndexes: (db, cmd) => {
      const name = this.collName(cmd, "createIndexes");
      const specs = cmd.indexes;
      if (!Array.isArray(specs) || specs.length === 0)
        throw badValue("Must specify at least one index to create");
      const existed = this.collection(db, name) !== undefined;
      const coll = this.ensure(db, name);
      const before = coll.indexes.length;
      let created = 0;
      for (const raw of specs as Doc[]) {
        created += coll.createIndex(toIndexSpec(raw)) === "created" ? 1 : 0;
      }
      const reply: Doc = {
        numIndexesBefore: before,
        numIndexesAfter: coll.indexes.length,
        createdCollectionAutomatically: !existed,
        ok: 1,
      };
      if (created === 0) reply.note = "all indexes already exist";
      return reply;
    },

    listIndexes: (db, cmd) => {
      const name = this.collName(cmd, "listIndexes");
      const coll = this.collection(db, name);
      if (!coll) throw new CommandError(26, "NamespaceNotFound", `ns does not exist: ${db}.${name}`);
      const batch = (cmd.cursor as Doc | undefined)?.batchSize;
      return this.cursorReply(
        `${db}.${name}`,
        coll.indexes as unknown as Doc[],
        batch as number | undefined,
        false,
        true,
      );
    },

    dropIndexes: (db, cmd) => {
      const name = this.collName(cmd, "dropIndexes");
      const coll = this.collection(db, name);
      if (!coll) throw new CommandError(26, "NamespaceNotFound", `ns not found ${db}.${name}`);
      const was = coll.indexes.length;
      if (cmd.index === "*") coll.dropAllIndexes();
      else {
        const spec = coll.findIndex(cmd.index);
        if (!spec) {
          throw new CommandError(27, "IndexNotFound", `index not found with name [${show(cmd.index)}]`);
        }
        if (spec.name === "_id_") throw new CommandError(72, "InvalidOptions", "cannot drop _id index");
        coll.dropIndex(spec.name);
      }
      return { nIndexesWas: was, ok: 1 };
    },

    collMod: (db, cmd) => {
      const name = this.collName(cmd, "collMod");
      const coll = this.collection(db, name);
      if (!coll) throw new CommandError(26, "NamespaceNotFound", `ns does not exist: ${db}.${name}`);
      const change = cmd.index as Doc | undefined;
      if (!change) return { ok: 1 };
      const spec = coll.findIndex(change.name ?? change.keyPattern);
      if (!spec)
        throw new CommandError(
          27,
          "IndexNotFound",
          `cannot find index ${show(change.name ?? change.keyPattern)} for ns ${db}.${name}`,
        );
      const reply: Doc = { ok: 1 };
      if (change.expireAfterSeconds !== undefined) {
        if (spec.expireAfterSeconds === undefined) {
          throw new CommandError(72, "InvalidOptions", "no expireAfterSeconds field to update");
        }
        reply.expireAfterSeconds_old = spec.expireAfterSeconds;
        spec.expireAfterSeconds = Number(change.expireAfterSeconds);
        reply.expireAfterSeconds_new = spec.expireAfterSeconds;
      }
      return reply;
    },

    listCollections: (db, cmd) => {
      const colls = this.dbs.get(db) ?? new Map<string, Collection>();
      const infos: Doc[] = [...colls.entries()].map(([name, coll]) => ({
        name,
        type: "collection",
        options: {},
        info: { readOnly: false, uuid: coll.uuid },
        idIndex: { v: 2, key: { _id: 1 }, name: "_id_" },
      }));
      const filtered = cmd.filter ? (mingoFind(infos, cmd.filter as Doc).all() as Doc[]) : infos;
      const docs = cmd.nameOnly === true ? filtered.map((d) => ({ name: d.name, type: d.type })) : filtered;
      const batch = (cmd.cursor as Doc | undefined)?.batchSize;
      return this.cursorReply(`${db}.$cmd.listCollections`, docs, batch as number | undefined, false, true);
    },

    drop: (db, cmd) => {
      const name = this.collName(cmd, "drop");
      const coll = this.collection(db, name);
      if (!coll) return { ok: 1 };
      this.dbs.get(db)?.delete(name);
      return { nIndexesWas: coll.indexes.length, ns: `${db}.${name}`, ok: 1 };
    },

    dropDatabase: (db) => {
      this.dbs.delete(db);
      return { dropped: db, ok: 1 };
    },
  };
}

const SUPPORTED_STAGES = new Set([
  "$match",
  "$group",
  "$sort",
  "$limit",
  "$skip",
  "$project",
  "$count",
  "$addFields",
  "$set",
  "$unset",
  "$unwind",
  "$replaceRoot",
  "$sortByCount",
]);
const KNOWN_STAGES = new Set([
  "$lookup",
  "$out",
  "$merge",
  "$facet",
  "$bucket",
  "$graphLookup",
  "$geoNear",
  "$search",
]);

function toIndexSpec(raw: Doc): IndexSpec {
  if (!isDocument(raw.key) || Object.keys(raw.key).length === 0) {
    throw failedToParse("The 'key' field must be a non-empty object");
  }
  if (typeof raw.name !== "string" || raw.name === "")
    throw failedToParse("The 'name' field must be a non-empty string");
  for (const [field, dir] of Object.entries(raw.key)) {
    if (dir !== 1 && dir !== -1) {
      throw notSupported(`the index type ${show(dir)} on ${field}`);
    }
  }
  const spec: IndexSpec = { v: 2, key: raw.key, name: raw.name };
  if (raw.unique === true) spec.unique = true;
  if (raw.sparse === true) spec.sparse = true;
  if (raw.expireAfterSeconds !== undefined) {
    const ttl = Number(raw.expireAfterSeconds);
    if (!Number.isInteger(ttl) || ttl < 0) {
      throw new CommandError(
        67,
        "CannotCreateIndex",
        "TTL index 'expireAfterSeconds' option must be a non-negative integer",
      );
    }
    spec.expireAfterSeconds = ttl;
  }
  if (isDocument(raw.partialFilterExpression)) spec.partialFilterExpression = raw.partialFilterExpression;
  return spec;
}

function query(
  docs: Doc[],
  sort: Doc | undefined,
  projection: Doc | undefined,
  skip: number,
  limit: number,
): Doc[] {
  let cursor = mingoFind(docs, {}, projection && Object.keys(projection).length > 0 ? projection : undefined);
  if (sort && Object.keys(sort).length > 0) cursor = cursor.sort(sort as Record<string, 1 | -1>);
  if (skip > 0) cursor = cursor.skip(skip);
  if (limit > 0) cursor = cursor.limit(limit);
  return cursor.all() as Doc[];
}

function takeBatch(docs: Doc[], from: number, batchSize: number | undefined): Doc[] {
  const batch: Doc[] = [];
  let bytes = 0;
  for (let i = from; i < docs.length; i++) {
    if (batchSize !== undefined && batchSize > 0 && batch.length >= batchSize) break;
    const doc = docs[i] as Doc;
    bytes += calculateObjectSize(doc);
    if (batch.length > 0 && bytes > MAX_BSON - 1024 * 1024) break;
    batch.push(doc);
  }
  return batch;
}

/** Runs each write of a batch, collecting MongoDB's `writeErrors`; `ordered` stops at the first. */
function writeLoop(cmd: Doc, items: unknown[], write: (item: unknown, index: number) => { n: number }): Doc {
  const ordered = cmd.ordered !== false;
  const writeErrors: Doc[] = [];
  let n = 0;
  for (const [index, item] of items.entries()) {
    try {
      if (!isDocument(item)) throw failedToParse(`write #${index} is not a document`);
      n += write(item, index).n;
    } catch (error) {
      if (!(error instanceof CommandError)) throw error;
      writeErrors.push({ index, code: error.code, errmsg: error.message, ...error.extra });
      if (ordered) break;
    }
  }
  const reply: Doc = { n, ok: 1 };
  if (writeErrors.length > 0) reply.writeErrors = writeErrors;
  return reply;
}
