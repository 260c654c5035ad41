import type { RedisKeys } from "@gsk/redis-keys";
import type { ArchivableRecord, EntryStore, RedisHandle } from "@gsk/redis-store";
import { decodePolicy } from "@gsk/ttl-policy";
import { type AnyBulkWriteOperation, MongoBulkWriteError } from "mongodb";
import type { Archive, EntryDoc, RunCounts } from "./collections.ts";

/** Where a run is: SCAN cursors per master and counts so far; kept in the job so a retry resumes. */
export interface RunState {
  cursors: Record<string, string>;
  done: string[];
  counts: RunCounts;
}

export const emptyState = (): RunState => ({
  cursors: {},
  done: [],
  counts: { scanned: 0, vanished: 0, inserted: 0, unchanged: 0, failed: 0 },
});

/** Receives each batch of upserts; the default writes them to `entries`. */
export type Sink = (
  ops: AnyBulkWriteOperation<EntryDoc>[],
) => Promise<Pick<RunCounts, "inserted" | "unchanged" | "failed">>;

export interface RunContext {
  redis: RedisHandle;
  keys: RedisKeys;
  entries: EntryStore;
  archive: Archive;
  runId: string;
  now: () => number;
  scanCount: number;
  state: RunState;
  /** Called after every written batch with the state to persist. */
  checkpoint: (state: RunState) => Promise<void>;
  sink?: Sink;
}

/** Upserts into `entries`, one ordered:false bulkWrite per batch; MongoDB outages throw (the run retries). */
export function mongoSink(archive: Archive): Sink {
  return async (ops) => {
    if (ops.length === 0) return { inserted: 0, unchanged: 0, failed: 0 };
    try {
      const result = await archive.entries.bulkWrite(ops, { ordered: false });
      return { inserted: result.upsertedCount, unchanged: result.matchedCount, failed: 0 };
    } catch (error) {
      const writeErrors = error instanceof MongoBulkWriteError ? [error.writeErrors].flat() : [];
      if (writeErrors.length === 0) throw error;
      const { result } = error as MongoBulkWriteError;
      return { inserted: result.upsertedCount, unchanged: result.matchedCount, failed: writeErrors.length };
    }
  };
}

const instant = (value: unknown): number => (typeof value === "string" ? Date.parse(value) : Number.NaN);

/**
 * The upsert of one stored entry, or undefined when the body is not an entry. The worker wrote
 * it, so a structural check is enough here (a full schema parse halves the read side's rate).
 * The expiry is the one Redis holds, in case it was changed since (e.g. PERSIST).
 */
function toOperation(
  record: ArchivableRecord,
  runId: string,
  at: Date,
): AnyBulkWriteOperation<EntryDoc> | undefined {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(record.body);
  } catch {
    return undefined;
  }
  const { webhookKey, accountId, flowId, eventId } = e;
  const produced = instant(e.producedAt);
  const stored = instant(e.storedAt);
  const strings = [webhookKey, accountId, flowId, eventId].every((f) => typeof f === "string");
  if (!strings || Number.isNaN(produced) || Number.isNaN(stored) || !("data" in e)) return undefined;
  return {
    updateOne: {
      filter: {
        webhookKey: webhookKey as string,
        producedAt: new Date(produced),
        eventId: eventId as string,
      },
      update: {
        $setOnInsert: {
          accountId: accountId as string,
          flowId: flowId as string,
          data: e.data,
          storedAt: new Date(stored),
          expiresAt: record.pexpireTime === null ? null : new Date(record.pexpireTime),
          firstArchivedAt: at,
        },
        $set: { lastArchivedAt: at, runId },
      },
      upsert: true,
    },
  };
}

/**
 * Copies every live entry of every master to `entries` (SCAN MATCH, pipelined reads, bulk
 * upserts), then every TTL policy to `policies`. Reading waits for writing: at most one batch
 * is being written while the next is read, so memory does not grow with the key count.
 */
export async function archiveRun(ctx: RunContext): Promise<RunCounts & { policies: number }> {
  const { state } = ctx;
  const sink = ctx.sink ?? mongoSink(ctx.archive);
  const at = new Date(ctx.now());
  for (const { id, redis } of await ctx.redis.masters()) {
    if (state.done.includes(id)) continue;
    const fetch = async (
      cursor: string,
    ): Promise<{ cursor: string; records: (ArchivableRecord | null)[] }> => {
      const page = await redis.scan(cursor, { MATCH: ctx.keys.entryPattern, COUNT: ctx.scanCount });
      const records = await ctx.entries.readForArchive(redis, page.keys);
      return { cursor: page.cursor, records };
    };
    // Three batches at most are alive: one being read, one transformed, one written.
    let reading: Promise<Awaited<ReturnType<typeof fetch>>> | undefined = quiet(
      fetch(state.cursors[id] ?? "0"),
    );
    let writing: Promise<void> | undefined;
    while (reading) {
      const { cursor: next, records }: { cursor: string; records: (ArchivableRecord | null)[] } =
        await reading;
      reading = next === "0" ? undefined : quiet(fetch(next));
      const ops: AnyBulkWriteOperation<EntryDoc>[] = [];
      let vanished = 0;
      let corrupt = 0;
      for (const record of records) {
        if (!record) vanished++;
        else {
          const op = toOperation(record, ctx.runId, at);
          if (op) ops.push(op);
          else corrupt++;
        }
      }
      await writing;
      writing = quiet(
        sink(ops).then(async (written) => {
          const c = state.counts;
          c.vanished += vanished;
          c.inserted += written.inserted;
          c.unchanged += written.unchanged;
          c.failed += written.failed + corrupt;
          c.scanned = c.inserted + c.unchanged + c.failed;
          state.cursors[id] = next;
          await ctx.checkpoint(state);
        }),
      );
    }
    await writing;
    state.done.push(id);
    await ctx.checkpoint(state);
  }
  const policies = await copyPolicies(ctx, at);
  return { ...state.counts, policies };
}

/** Marks a promise that is awaited later, so that its failure is not reported as unhandled meanwhile. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

async function copyPolicies(ctx: RunContext, at: Date): Promise<number> {
  let copied = 0;
  for (const { redis } of await ctx.redis.masters()) {
    let cursor = "0";
    do {
      const scanned = await redis.scan(cursor, { MATCH: ctx.keys.policyPattern, COUNT: ctx.scanCount });
      const found = await Promise.all(
        scanned.keys.map(async (key) => ({ key, scope: ctx.keys.policyOf(key), raw: await redis.get(key) })),
      );
      const ops = found.flatMap(({ key, scope, raw }) => {
        if (!scope || raw === null) return [];
        const policy = decodePolicy(key, raw);
        if (!policy) return [];
        return [
          {
            updateOne: {
              filter: { accountId: scope.accountId, flowId: scope.flowId },
              update: { $set: { ttlSeconds: policy.ttlSeconds, lastSeenAt: at } },
              upsert: true,
            },
          },
        ];
      });
      if (ops.length > 0) await ctx.archive.policies.bulkWrite(ops, { ordered: false });
      copied += ops.length;
      cursor = scanned.cursor;
    } while (cursor !== "0");
  }
  return copied;
}
