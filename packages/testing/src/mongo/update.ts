import { ObjectId } from "bson";
import { compare } from "mingo/util";
import { badValue, CommandError, failedToParse, notSupported, typeMismatch } from "./errors.ts";
import { clone, getPath, isDocument, keyOf, show, typeName } from "./values.ts";

type Doc = Record<string, unknown>;

const SUPPORTED = new Set([
  "$set",
  "$setOnInsert",
  "$unset",
  "$inc",
  "$mul",
  "$min",
  "$max",
  "$push",
  "$currentDate",
]);
const KNOWN = new Set([...SUPPORTED, "$rename", "$addToSet", "$pop", "$pull", "$pullAll", "$bit"]);

const immutableId = () =>
  new CommandError(
    66,
    "ImmutableField",
    "Performing an update on the path '_id' would modify the immutable field '_id'",
  );

/** True when `u` is an update-operator document (its first key starts with `$`). */
export function isOperatorUpdate(u: Doc): boolean {
  const first = Object.keys(u)[0];
  return first?.startsWith("$") ?? false;
}

function checkPaths(u: Doc): void {
  const seen: string[] = [];
  for (const [op, fields] of Object.entries(u)) {
    if (!KNOWN.has(op)) {
      throw failedToParse(
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    }
    if (!SUPPORTED.has(op)) throw notSupported(`the update operator ${op}`);
    if (!isDocument(fields)) {
      throw failedToParse(
        `Modifiers operate on fields but we found type ${typeName(fields)} instead. For example: {$mod: {<field>: ...}} not {${op}: ${show(fields)}}`,
      );
    }
    for (const path of Object.keys(fields)) {
      for (const other of seen) {
        if (other === path || other.startsWith(`${path}.`) || path.startsWith(`${other}.`)) {
          const at = other.length < path.length ? other : path;
          throw new CommandError(
            40,
            "ConflictingUpdateOperators",
            `Updating the path '${path}' would create a conflict at '${at}'`,
          );
        }
      }
      seen.push(path);
    }
  }
}

function checkTypes(doc: Doc, u: Doc): void {
  for (const op of ["$inc", "$mul"] as const) {
    const fields = u[op] as Doc | undefined;
    if (!fields) continue;
    for (const [path, arg] of Object.entries(fields)) {
      if (typeof arg !== "number") {
        throw typeMismatch(
          `Cannot ${op === "$inc" ? "increment" : "multiply"} with non-numeric argument: {${path}: ${show(arg)}}`,
        );
      }
      const current = getPath(doc, path);
      if (current !== undefined && typeof current !== "number") {
        throw typeMismatch(
          `Cannot apply ${op} to a value of non-numeric type. {_id: ${show(doc._id)}} has the field '${path}' of non-numeric type ${typeName(current)}`,
        );
      }
    }
  }
  const push = u.$push as Doc | undefined;
  for (const path of Object.keys(push ?? {})) {
    const current = getPath(doc, path);
    if (current !== undefined && !Array.isArray(current)) {
      throw badValue(
        `The field '${path}' must be an array but is of type ${typeName(current)} in document {_id: ${show(doc._id)}}`,
      );
    }
  }
}

/**
 * Applies an update (operators or a replacement) to a copy of `doc`; `inserting` applies
 * `$setOnInsert` too. Returns the new document; never changes `doc`.
 */
export function applyUpdate(doc: Doc, u: Doc, inserting: boolean): Doc {
  if (!isOperatorUpdate(u)) {
    for (const key of Object.keys(u)) {
      if (key.startsWith("$")) {
        throw new CommandError(
          52,
          "DollarPrefixedFieldName",
          `The dollar ($) prefixed field '${key}' in '${key}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`,
        );
      }
    }
    if ("_id" in u && doc._id !== undefined && keyOf(u._id) !== keyOf(doc._id)) {
      throw new CommandError(
        66,
        "ImmutableField",
        `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${show(u._id)}`,
      );
    }
    const { _id, ...rest } = clone(u);
    return doc._id === undefined
      ? { ...(_id === undefined ? {} : { _id }), ...rest }
      : { _id: doc._id, ...rest };
  }
  checkPaths(u);
  const next = clone(doc);
  checkTypes(next, u);
  const modifier: Doc = {};
  for (const [op, fields] of Object.entries(u)) {
    if (op === "$setOnInsert") {
      if (inserting) modifier.$set = { ...(modifier.$set as Doc), ...(fields as Doc) };
      continue;
    }
    if (op === "$set") modifier.$set = { ...(modifier.$set as Doc), ...(fields as Doc) };
    else if (op === "$currentDate") {
      const now = new Date();
      modifier.$set = {
        ...(modifier.$set as Doc),
        ...Object.fromEntries(Object.keys(fields as Doc).map((k) => [k, now])),
      };
    } else modifier[op] = fields;
  }
  for (const fields of Object.values(modifier)) {
    for (const path of Object.keys(fields as Doc)) {
      if ((path === "_id" || path.startsWith("_id.")) && doc._id !== undefined) {
        const value = (modifier.$set as Doc | undefined)?.[path];
        if (value === undefined || keyOf(value) !== keyOf(getPath(doc, path))) throw immutableId();
      }
    }
  }
  applyOperators(next, modifier);
  return next;
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split(".");
  let target: Record<string, unknown> = doc;
  for (const part of parts.slice(0, -1)) {
    const child = target[part];
    if (typeof child !== "object" || child === null) target[part] = {};
    target = target[part] as Record<string, unknown>;
  }
  target[parts[parts.length - 1] as string] = value;
}

function unsetPath(doc: Doc, path: string): void {
  const parts = path.split(".");
  const parent = parts.length === 1 ? doc : getPath(doc, parts.slice(0, -1).join("."));
  if (typeof parent === "object" && parent !== null)
    delete (parent as Doc)[parts[parts.length - 1] as string];
}

/** Applies validated operators in place, as mongod does for $set, $unset, $inc, $mul, $min, $max, $push. */
function applyOperators(doc: Doc, modifier: Doc): void {
  for (const [op, fields] of Object.entries(modifier)) {
    for (const [path, arg] of Object.entries(fields as Doc)) {
      const current = getPath(doc, path);
      switch (op) {
        case "$set":
          setPath(doc, path, clone(arg));
          break;
        case "$unset":
          unsetPath(doc, path);
          break;
        case "$inc":
          setPath(doc, path, ((current as number | undefined) ?? 0) + (arg as number));
          break;
        case "$mul":
          setPath(doc, path, ((current as number | undefined) ?? 0) * (arg as number));
          break;
        case "$min":
          if (current === undefined || compare(arg, current) < 0) setPath(doc, path, clone(arg));
          break;
        case "$max":
          if (current === undefined || compare(arg, current) > 0) setPath(doc, path, clone(arg));
          break;
        case "$push": {
          const items = isDocument(arg) && Array.isArray(arg.$each) ? arg.$each : [arg];
          setPath(doc, path, [...((current as unknown[] | undefined) ?? []), ...items.map(clone)]);
          break;
        }
      }
    }
  }
}

/** The document an upsert starts from: the query's equality conditions. */
export function seedFromQuery(query: Doc): Doc {
  const seed: Doc = {};
  const take = (q: Doc) => {
    for (const [key, value] of Object.entries(q)) {
      if (key === "$and" && Array.isArray(value)) {
        for (const part of value) if (isDocument(part)) take(part);
        continue;
      }
      if (key.startsWith("$")) continue;
      let v: unknown = value;
      if (isDocument(value)) {
        const ops = Object.keys(value);
        if (ops.length > 0 && ops.every((k) => k.startsWith("$"))) {
          if (ops.length === 1 && ops[0] === "$eq") v = value.$eq;
          else continue;
        }
      }
      const parts = key.split(".");
      let target = seed;
      for (const part of parts.slice(0, -1)) {
        if (!isDocument(target[part])) target[part] = {};
        target = target[part] as Doc;
      }
      target[parts[parts.length - 1] as string] = clone(v);
    }
  };
  take(query);
  return seed;
}

/** Puts `_id` first, generating an ObjectId when the document has none (as mongod does). */
export function withId(doc: Doc): Doc {
  const { _id, ...rest } = doc;
  return { _id: _id === undefined ? new ObjectId() : _id, ...rest };
}
