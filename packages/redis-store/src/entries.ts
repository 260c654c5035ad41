import { hash } from "node:crypto";
import type { RedisKeys } from "@gsk/redis-keys";
import { formatInstant } from "@gsk/schema";
import type { Redis, RedisHandle, ScriptCall } from "./client.ts";

/**
 * How an entry is stored and served (this module is the only place that knows). An entry is a
 * Redis hash: `b` the API JSON (served as is), `t` its ETag, `a` the account (for token scoping
 * without parsing), `p` producedAt in epoch ms and `e` the eventId (for last-writer-wins). Its
 * expiry is set absolutely with PEXPIREAT.
 */
const F = { body: "b", etag: "t", account: "a", producedAt: "p", eventId: "e" } as const;

// A live entry of another account keeps the key (2). Else last writer wins by (producedAt,
// eventId): an equal or older version changes nothing (0). eventIds are compared byte by byte
// because Lua's '<' follows the server's locale. The body is ARGV[3] .. ARGV[7] (see entryParts).
const WRITE_SCRIPT = `
local cur = redis.call('HMGET', KEYS[1], '${F.producedAt}', '${F.eventId}', '${F.account}')
if cur[1] then
  if cur[3] and cur[3] ~= ARGV[5] then return 2 end
  local cp, np = tonumber(cur[1]), tonumber(ARGV[1])
  if np < cp then return 0 end
  if np == cp then
    local a, b = ARGV[2], cur[2]
    local n = math.min(#a, #b)
    local newer = #a > #b
    for i = 1, n do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then newer = x > y; break end
    end
    if not newer then return 0 end
  end
end
redis.call('HSET', KEYS[1], '${F.producedAt}', ARGV[1], '${F.eventId}', ARGV[2], '${F.body}', ARGV[3] .. ARGV[7], '${F.etag}', ARGV[4], '${F.account}', ARGV[5])
if ARGV[6] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIREAT', KEYS[1], ARGV[6]) end
return 1
`;

// Deletes the entry when its account is one of ARGV ("*": any): 1 when deleted, 0 otherwise.
const DELETE_SCRIPT = `
local a = redis.call('HGET', KEYS[1], '${F.account}')
if not a then return 0 end
for i = 1, #ARGV do
  if ARGV[i] == '*' or ARGV[i] == a then return redis.call('DEL', KEYS[1]) end
end
return 0
`;

// What the archive needs of each key: its body and absolute expiry (-1: none, -2: gone). The keys
// come from one primary's SCAN, so from many slots of that node: a cluster refuses declared keys
// of several slots, but lets a script with this flag (Redis 7) read keys of any slot its node
// holds, so they are passed as arguments.
const ARCHIVE_READ_SCRIPT = `#!lua flags=allow-cross-slot-keys,no-writes
local out = {}
for i, key in ipairs(ARGV) do
  out[2 * i - 1] = redis.call('HGET', key, '${F.body}')
  out[2 * i] = redis.call('PEXPIRETIME', key)
end
return out
`;

/**
 * Keys read per script call: one call replaces two commands per key (a third of the client's
 * work and garbage per key), and a call this size keeps Redis from other clients for well under
 * a millisecond.
 */
const ARCHIVE_READ_KEYS = 100;

/** A script by its SHA1, loaded with EVAL when Redis does not have it (after a restart or failover). */
function scripted(script: string) {
  const sha = hash("sha1", script, "hex");
  return (redis: Pick<Redis, "evalSha" | "eval">, options: ScriptCall): Promise<unknown> =>
    redis.evalSha(sha, options).catch((error: unknown) => {
      if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
      return redis.eval(script, options);
    });
}

const writeScript = scripted(WRITE_SCRIPT);
const deleteScript = scripted(DELETE_SCRIPT);
const archiveRead = scripted(ARCHIVE_READ_SCRIPT);

/** Whether version a is newer than b: later producedAt, then greater eventId in byte order. */
export function isNewerVersion(
  a: { producedAtMs: number; eventId: string },
  b: { producedAtMs: number; eventId: string },
): boolean {
  if (a.producedAtMs !== b.producedAtMs) return a.producedAtMs > b.producedAtMs;
  return Buffer.compare(Buffer.from(a.eventId), Buffer.from(b.eventId)) > 0;
}

/**
 * An entry's fields other than `data`, with its times as epoch milliseconds: they become RFC 3339
 * text only in the stored JSON (`expiresAt` null: never expires).
 */
export interface EntryMeta {
  webhookKey: string;
  accountId: string;
  flowId: string;
  eventId: string;
  producedAt: number;
  storedAt: number;
  expiresAt: number | null;
}

/**
 * The start of an entry's API JSON, `{"webhookKey":"…",`: the only part that differs between the
 * entries of one message, so the rest (`entryTail`) is built once however many keys it names.
 */
function entryHead(webhookKey: string): string {
  return `{"webhookKey":${JSON.stringify(webhookKey)},`;
}

/** The rest of an entry's API JSON after `entryHead`, with `data` given already serialized. */
function entryTail(meta: Omit<EntryMeta, "webhookKey">, dataJson: string): string {
  const expiresAt = meta.expiresAt === null ? "null" : `"${formatInstant(meta.expiresAt)}"`;
  return (
    `"accountId":${JSON.stringify(meta.accountId)},"flowId":${JSON.stringify(meta.flowId)},` +
    `"data":${dataJson},"eventId":${JSON.stringify(meta.eventId)},` +
    `"producedAt":"${formatInstant(meta.producedAt)}","storedAt":"${formatInstant(meta.storedAt)}",` +
    `"expiresAt":${expiresAt}}`
  );
}

const etagOf = (text: string) => `"${hash("sha256", text, "base64url").slice(0, 27)}"`;

/**
 * From how many characters of tail, times the keys sharing it, the tail is sent as bytes: below
 * that, copying it into each key's command costs less than writing it as a chunk of its own
 * (measured: 2 keys × 100k characters 3% slower as bytes, 2 × 140k 27% faster).
 */
const SHARED_TAIL_MIN_CHARS = 256 * 1024;

/**
 * How each entry of one message is sent, given its head: its JSON in two parts the script joins,
 * and its strong ETag, made once at write time. One key: the JSON whole (built once, for the hash
 * and the send alike). Several keys: the head and the tail they all share, a large one as bytes
 * that the client writes to the socket as they are instead of copying them into each key's
 * command; the ETag is the SHA-256 of the head and of the tail's SHA-256. A large body is then
 * neither copied nor hashed once per key (100 keys of 200 KB: 39 instead of 117 ms of CPU).
 */
function entryParts(tail: string, keyCount: number): (head: string) => [string, string, string | Buffer] {
  if (keyCount === 1) {
    return (head) => {
      const json = head + tail;
      return [json, etagOf(json), ""];
    };
  }
  const shared = tail.length * keyCount < SHARED_TAIL_MIN_CHARS ? tail : Buffer.from(tail);
  const tailDigest = hash("sha256", shared, "base64url");
  return (head) => [head, etagOf(head + tailDigest), shared];
}

/** One entry to write: its fields and its `data` already serialized. */
export interface EntryWrite {
  meta: EntryMeta;
  dataJson: string;
}

/** One message's entries: the same fields and `data` under each of its webhook keys. */
export interface MessageWrite {
  meta: Omit<EntryMeta, "webhookKey">;
  dataJson: string;
  webhookKeys: readonly string[];
}

/** "written"; "kept" (Redis holds the same or a newer version); "conflict" (another account's live entry). */
export type WriteResult = "written" | "kept" | "conflict";

const RESULTS: Record<string, WriteResult> = { 0: "kept", 1: "written", 2: "conflict" };

/** How many bytes of entry bodies one message sends to Redis at a time (at least one key). */
const WRITE_BYTES_IN_FLIGHT = 1 << 20;

/** What a read for the API returns: the stored JSON, its ETag and its account. */
export interface StoredRecord {
  body: string;
  etag: string;
  accountId: string;
}

/** A stored entry with the expiry Redis holds for it (null: never expires). */
export interface ArchivableRecord {
  body: string;
  pexpireTime: number | null;
}

export interface EntryStore {
  /** Writes an entry unless Redis holds the same or a newer version or another account's entry. */
  write(entry: EntryWrite): Promise<WriteResult>;
  /**
   * Writes one message's entries, a result per key in order; the body after the key is built once
   * and keys are sent a few at a time, so a large message never holds a copy per key.
   */
  writeMessage(message: MessageWrite): Promise<WriteResult[]>;
  /** The account whose live entry holds each webhook key, or null (one pipeline). */
  owners(webhookKeys: readonly string[]): Promise<(string | null)[]>;
  /** One round trip: the stored JSON, ETag and account, or null. */
  read(webhookKey: string): Promise<StoredRecord | null>;
  /**
   * Deletes the live entry of a webhook key when it belongs to one of `accounts` ("*": any), in
   * one atomic step; true when one was deleted. The key is then free for any account.
   */
  remove(webhookKey: string, accounts: "*" | ReadonlySet<string>): Promise<boolean>;
  /** The version Redis holds for a webhook key (producedAt ms, eventId), or null. */
  readVersion(webhookKey: string): Promise<{ producedAtMs: number; eventId: string } | null>;
  /** The primaries to scan (one when not a cluster), each named `host:port`. */
  scanSources(): Promise<string[]>;
  /** One SCAN page of one primary's entry keys; `cursor` "0" starts, a returned "0" ends. */
  scanKeys(source: string, cursor: string, count: number): Promise<{ cursor: string; keys: string[] }>;
  /** The stored JSON and absolute expiry of scanned keys (one pipeline); null when gone since. */
  readForArchive(source: string, keys: string[]): Promise<(ArchivableRecord | null)[]>;
}

export function createEntryStore(handle: RedisHandle, keys: RedisKeys): EntryStore {
  const redis = handle.client;
  const primary = async (source: string) => {
    const found = (await handle.masters()).find((m) => m.id === source);
    if (!found) throw new Error(`no Redis primary ${source} (the cluster changed during the run)`);
    return found.redis;
  };
  // Not an async function: one would hold `argumentsFor`, and so the message's tail, while Redis
  // answers (a second copy of the data besides the arguments being sent).
  const writeOne = (
    webhookKey: string,
    argumentsFor: (webhookKey: string) => ScriptCall["arguments"],
  ): Promise<WriteResult> => {
    const options = { keys: [keys.entry(webhookKey)], arguments: argumentsFor(webhookKey) };
    return writeScript(redis, options).then((reply) => RESULTS[String(reply)] ?? "kept");
  };

  const writeMessage = async ({ meta, dataJson, webhookKeys }: MessageWrite): Promise<WriteResult[]> => {
    const tail = entryTail(meta, dataJson);
    const parts = entryParts(tail, webhookKeys.length);
    const producedAt = String(meta.producedAt);
    const expiresAt = meta.expiresAt === null ? "" : String(meta.expiresAt);
    // The script's ARGV for one key: version, body in two parts, ETag, account, expiry.
    const argumentsFor = (webhookKey: string) => {
      const [first, etag, rest] = parts(entryHead(webhookKey));
      return [producedAt, meta.eventId, first, etag, meta.accountId, expiresAt, rest];
    };
    const perGroup = Math.max(1, Math.floor(WRITE_BYTES_IN_FLIGHT / tail.length));
    const writeGroup = (group: readonly string[]) =>
      Promise.all(group.map((key) => writeOne(key, argumentsFor)));
    // One group, the usual case, is returned rather than awaited: this frame (and the message's
    // data JSON in it) is then not held while Redis answers.
    if (webhookKeys.length <= perGroup) return writeGroup(webhookKeys);
    const results: WriteResult[] = [];
    for (let i = 0; i < webhookKeys.length; i += perGroup) {
      results.push(...(await writeGroup(webhookKeys.slice(i, i + perGroup))));
    }
    return results;
  };

  return {
    writeMessage,
    async write({ meta: { webhookKey, ...meta }, dataJson }) {
      const [result] = await writeMessage({ meta, dataJson, webhookKeys: [webhookKey] });
      return result as WriteResult;
    },
    async owners(webhookKeys) {
      return Promise.all(
        webhookKeys.map(async (key) => (await redis.hmGet(keys.entry(key), [F.account]))[0] ?? null),
      );
    },
    async read(webhookKey) {
      const [body, etag, accountId] = await redis.hmGet(keys.entry(webhookKey), [F.body, F.etag, F.account]);
      if (body == null || etag == null || accountId == null) return null;
      return { body, etag, accountId };
    },
    async remove(webhookKey, accounts) {
      const allowed = accounts === "*" ? ["*"] : [...accounts];
      const deleted = await deleteScript(redis, { keys: [keys.entry(webhookKey)], arguments: allowed });
      return Number(deleted) === 1;
    },
    async readVersion(webhookKey) {
      const [p, e] = await redis.hmGet(keys.entry(webhookKey), [F.producedAt, F.eventId]);
      return p == null || e == null ? null : { producedAtMs: Number(p), eventId: e };
    },
    async scanSources() {
      return (await handle.masters()).map((m) => m.id);
    },
    async scanKeys(source, cursor, count) {
      return (await primary(source)).scan(cursor, { MATCH: keys.entryPattern, COUNT: count });
    },
    async readForArchive(source, batch) {
      const node = await primary(source);
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < batch.length; i += ARCHIVE_READ_KEYS) {
        calls.push(archiveRead(node, { keys: [], arguments: batch.slice(i, i + ARCHIVE_READ_KEYS) }));
      }
      const replies = ((await Promise.all(calls)) as (string | number | null)[][]).flat();
      return batch.map((_, i) => {
        const body = replies[2 * i] as string | null;
        const pexpireTime = replies[2 * i + 1] as number;
        if (body == null || pexpireTime === -2) return null;
        return { body, pexpireTime: pexpireTime === -1 ? null : pexpireTime };
      });
    },
  };
}
