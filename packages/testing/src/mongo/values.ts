import { ObjectId } from "bson";

type Doc = Record<string, unknown>;

/**
 * A string equal for values MongoDB treats as equal in an index (numbers of any BSON type by
 * value; embedded documents by fields in order), used for unique and `_id` lookups.
 */
export function keyOf(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return Number.isNaN(value) ? "n:NaN" : `n:${value === 0 ? 0 : value}`;
  if (typeof value === "bigint") return `n:${value}`;
  if (typeof value === "string") return `s:${JSON.stringify(value)}`;
  if (typeof value === "boolean") return `b:${value}`;
  if (value instanceof Date) return `d:${value.getTime()}`;
  if (value instanceof ObjectId) return `o:${value.toHexString()}`;
  if (value instanceof RegExp) return `r:${value.toString()}`;
  if (Array.isArray(value)) return `[${value.map(keyOf).join(",")}]`;
  const bsontype = (value as { _bsontype?: string })._bsontype;
  if (bsontype === "Long" || bsontype === "Int32" || bsontype === "Double")
    return `n:${Number(value.valueOf())}`;
  if (bsontype) return `${bsontype}:${String(value)}`;
  return `{${Object.entries(value as Doc)
    .map(([k, v]) => `${JSON.stringify(k)}:${keyOf(v)}`)
    .join(",")}}`;
}

/** The value at a dotted path (no array traversal), or undefined. */
export function getPath(doc: unknown, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Doc)[part];
  }
  return current;
}

/** A short, MongoDB-like rendering of a value for error messages: `{ webhookKey: "k" }`. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (Array.isArray(value)) return `[ ${value.map(show).join(", ")} ]`;
  if (typeof value === "object" && !(value as { _bsontype?: string })._bsontype) {
    const entries = Object.entries(value as Doc);
    return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${k}: ${show(v)}`).join(", ")} }`;
  }
  return String(value);
}

/** MongoDB's type name of a value, as its error messages use it. */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "double";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "bool";
  if (value instanceof Date) return "date";
  if (value instanceof ObjectId) return "objectId";
  if (Array.isArray(value)) return "array";
  return "object";
}

/** Plain object (an embedded document), not an array or BSON value. */
export function isDocument(value: unknown): value is Doc {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof RegExp) &&
    !(value as { _bsontype?: string })._bsontype
  );
}

/** A deep copy that keeps BSON values (ObjectId, Date, Long...) as they are. */
export function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clone) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (isDocument(value)) {
    const out: Doc = {};
    for (const [k, v] of Object.entries(value)) out[k] = clone(v);
    return out as T;
  }
  return value;
}
