import { randomUUID } from "node:crypto";
import { Binary } from "bson";
import { Query } from "mingo";
import { CommandError } from "./errors.ts";
import { getPath, isDocument, keyOf, show } from "./values.ts";

type Doc = Record<string, unknown>;

/** An index as `listIndexes` shows it. */
export interface IndexSpec {
  v: 2;
  key: Doc;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  expireAfterSeconds?: number;
  partialFilterExpression?: Doc;
}

class Index {
  readonly fields: string[];
  readonly entries = new Map<string, Set<Doc>>();
  private readonly partial?: Query;
  spec: IndexSpec;

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.fields = Object.keys(spec.key);
    if (spec.partialFilterExpression) this.partial = new Query(spec.partialFilterExpression);
  }

  /** The index key of a document, or undefined when the index leaves it out (sparse, partial). */
  keyFor(doc: Doc): string | undefined {
    const values = this.fields.map((f) => getPath(doc, f));
    if (this.spec.sparse && values.every((v) => v === undefined)) return undefined;
    if (this.partial && !this.partial.test(doc)) return undefined;
    return values.map(keyOf).join("|");
  }

  add(doc: Doc): void {
    const key = this.keyFor(doc);
    if (key === undefined) return;
    const set = this.entries.get(key);
    if (set) set.add(doc);
    else this.entries.set(key, new Set([doc]));
  }

  remove(doc: Doc): void {
    const key = this.keyFor(doc);
    if (key === undefined) return;
    const set = this.entries.get(key);
    set?.delete(doc);
    if (set?.size === 0) this.entries.delete(key);
  }

  /** A unique-index violation that storing `doc` (replacing `old`) would cause. */
  conflict(doc: Doc, old: Doc | undefined, ns: string): CommandError | undefined {
    if (!this.spec.unique) return undefined;
    const key = this.keyFor(doc);
    if (key === undefined) return undefined;
    const holders = this.entries.get(key);
    if (!holders || holders.size === 0 || (holders.size === 1 && old && holders.has(old))) return undefined;
    const keyValue = Object.fromEntries(this.fields.map((f) => [f, getPath(doc, f) ?? null]));
    return new CommandError(
      11000,
      "DuplicateKey",
      `E11000 duplicate key error collection: ${ns} index: ${this.spec.name} dup key: ${show(keyValue)}`,
      { keyPattern: this.spec.key, keyValue },
    );
  }
}

/** One collection: documents by `_id` in insertion order, and their indexes. */
export class Collection {
  readonly ns: string;
  readonly uuid = new Binary(Buffer.from(randomUUID().replaceAll("-", ""), "hex"), Binary.SUBTYPE_UUID);
  private readonly byId = new Map<string, Doc>();
  private readonly indexList: Index[] = [];

  constructor(ns: string) {
    this.ns = ns;
    this.indexList.push(new Index({ v: 2, key: { _id: 1 }, name: "_id_" }));
  }

  get size(): number {
    return this.byId.size;
  }

  all(): Doc[] {
    return [...this.byId.values()];
  }

  get indexes(): IndexSpec[] {
    return this.indexList.map((i) => i.spec);
  }

  /**
   * Documents that may match `filter`: an index lookup when it pins every field of an index.
   * `exact` when the filter is nothing but those equalities, so every candidate matches.
   */
  candidates(filter: Doc): { docs: Doc[]; exact: boolean } {
    const equalities = new Map<string, unknown>();
    for (const [key, value] of Object.entries(filter)) {
      if (key.startsWith("$")) continue;
      if (isDocument(value)) {
        const ops = Object.keys(value);
        if (ops.length === 1 && ops[0] === "$eq") equalities.set(key, value.$eq);
        else if (ops.some((op) => op.startsWith("$"))) continue;
        else equalities.set(key, value);
      } else if (!(value instanceof RegExp) && !Array.isArray(value) && value !== null) {
        equalities.set(key, value);
      }
    }
    const filterKeys = Object.keys(filter).length;
    const scalar = (v: unknown) => typeof v !== "object" || v instanceof Date;
    if (equalities.has("_id")) {
      const doc = this.byId.get(keyOf(equalities.get("_id")));
      return { docs: doc ? [doc] : [], exact: filterKeys === 1 && scalar(equalities.get("_id")) };
    }
    for (const index of this.indexList) {
      if (index.spec.sparse || index.spec.partialFilterExpression) continue;
      if (index.fields.every((f) => equalities.has(f))) {
        const key = index.fields.map((f) => keyOf(equalities.get(f))).join("|");
        const exact =
          filterKeys === index.fields.length &&
          equalities.size === filterKeys &&
          index.fields.every((f) => !f.includes(".") && scalar(equalities.get(f)));
        return { docs: [...(index.entries.get(key) ?? [])], exact };
      }
    }
    return { docs: this.all(), exact: false };
  }

  /** The matching documents in natural order. */
  match(filter: Doc): Doc[] {
    const { docs, exact } = this.candidates(filter);
    if (exact) return docs;
    const query = new Query(filter);
    return docs.filter((doc) => query.test(doc));
  }

  insert(doc: Doc): void {
    this.check(doc, undefined);
    this.byId.set(keyOf(doc._id), doc);
    for (const index of this.indexList) index.add(doc);
  }

  replace(old: Doc, next: Doc): void {
    this.check(next, old);
    for (const index of this.indexList) index.remove(old);
    this.byId.set(keyOf(next._id), next);
    for (const index of this.indexList) index.add(next);
  }

  remove(doc: Doc): void {
    this.byId.delete(keyOf(doc._id));
    for (const index of this.indexList) index.remove(doc);
  }

  private check(doc: Doc, old: Doc | undefined): void {
    for (const index of this.indexList) {
      const conflict = index.conflict(doc, old, this.ns);
      if (conflict) throw conflict;
    }
  }

  /** Adds an index; "exists" when an identical one is there. */
  createIndex(spec: IndexSpec): "created" | "exists" {
    const keyString = keyOf(spec.key);
    for (const index of this.indexList) {
      const same = keyOf(index.spec.key) === keyString;
      if (index.spec.name === spec.name && !same) {
        throw new CommandError(
          86,
          "IndexKeySpecsConflict",
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${show(spec)}, existing index: ${show(index.spec)}`,
        );
      }
      if (!same) continue;
      const options = (x: IndexSpec) => keyOf([!!x.unique, !!x.sparse, x.expireAfterSeconds ?? null]);
      const partial = (x: IndexSpec) => keyOf(x.partialFilterExpression ?? null);
      if (partial(index.spec) !== partial(spec) && index.spec.name !== spec.name) continue;
      if (index.spec.name === spec.name && options(index.spec) === options(spec)) return "exists";
      throw new CommandError(
        85,
        "IndexOptionsConflict",
        index.spec.name === spec.name
          ? `An equivalent index already exists with the same name but different options. Requested index: ${show(spec)}, existing index: ${show(index.spec)}`
          : `Index already exists with a different name: ${index.spec.name}`,
      );
    }
    const index = new Index(spec);
    for (const doc of this.byId.values()) {
      const conflict = index.conflict(doc, undefined, this.ns);
      if (conflict) throw conflict;
      index.add(doc);
    }
    this.indexList.push(index);
    return "created";
  }

  /** The index named `name`, or with key pattern `key`. */
  findIndex(nameOrKey: unknown): IndexSpec | undefined {
    const match = this.indexList.find((i) =>
      typeof nameOrKey === "string" ? i.spec.name === nameOrKey : keyOf(i.spec.key) === keyOf(nameOrKey),
    );
    return match?.spec;
  }

  dropIndex(name: string): void {
    const at = this.indexList.findIndex((i) => i.spec.name === name);
    if (at > 0) this.indexList.splice(at, 1);
  }

  dropAllIndexes(): void {
    this.indexList.splice(1);
  }

  /** Removes documents whose TTL index date has passed, as mongod's TTL monitor does. */
  expire(now: number): number {
    let removed = 0;
    for (const index of this.indexList) {
      const ttl = index.spec.expireAfterSeconds;
      const field = index.fields[0];
      if (ttl === undefined || index.fields.length !== 1 || !field) continue;
      for (const doc of this.all()) {
        const value = getPath(doc, field);
        const dates = (Array.isArray(value) ? value : [value]).filter((v): v is Date => v instanceof Date);
        if (dates.length === 0) continue;
        const earliest = Math.min(...dates.map((d) => d.getTime()));
        if (earliest + ttl * 1000 <= now) {
          this.remove(doc);
          removed++;
        }
      }
    }
    return removed;
  }
}
