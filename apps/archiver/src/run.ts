import { setImmediate } from "node:timers/promises";
import type { ArchivableRecord, EntryStore } from "@gsk/redis-store";
import { inSpan } from "@gsk/service";
import type { PolicyStore } from "@gsk/ttl-policy";
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

interface Page {
  cursor: string;
  records: (ArchivableRecord | null)[];
}

/** Receives each batch of upserts; the default writes them to `entries`. */
export type Sink = (
  ops: AnyBulkWriteOperation<EntryDoc>[],
) => Promise<Pick<RunCounts, "inserted" | "unchanged" | "failed">>;

/** What archive runs need, built once per archiver. */
export interface ArchiveDeps {
  entries: EntryStore;
  policies: PolicyStore;
  archive: Archive;
  /** SCAN COUNT, and so the batch size. */
  scanCount: number;
  now: () => number;
  /** Where batches go (default: `mongoSink`). */
  sink?: Sink;
}

/** One run: its id, where it is, and how to save where it is. */
export interface RunJob {
  runId: string;
  state: RunState;
  /** Called after every written batch with the state to persist. */
  checkpoint: (state: RunState) => Promise<void>;
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

/** Records transformed between two turns of the event loop. */
const TRANSFORM_SLICE = 100;

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
export async function archiveRun(deps: ArchiveDeps, job: RunJob): Promise<RunCounts & { policies: number }> {
  const { state } = job;
  const sink = deps.sink ?? mongoSink(deps.archive);
  const at = new Date(deps.now());
  for (const id of await deps.entries.scanSources()) {
    if (state.done.includes(id)) continue;
    const fetch = async (cursor: string): Promise<Page> => {
      const page = await deps.entries.scanKeys(id, cursor, deps.scanCount);
      return { cursor: page.cursor, records: await deps.entries.readForArchive(id, page.keys) };
    };
    // Three batches at most are alive: one being read, one transformed, one written.
    let reading: Promise<Page> | undefined = quiet(fetch(state.cursors[id] ?? "0"));
    let writing: Promise<void> | undefined;
    while (reading) {
      const { cursor: next, records }: Page = await reading;
      reading = next === "0" ? undefined : quiet(fetch(next));
      const ops: AnyBulkWriteOperation<EntryDoc>[] = [];
      let vanished = 0;
      let corrupt = 0;
      for (let i = 0; i < records.length; i++) {
        // The transform is the run's CPU work: it lets I/O in between, so that the next page's
        // SCAN and reads go out and come back meanwhile instead of after it.
        if (i > 0 && i % TRANSFORM_SLICE === 0) await setImmediate();
        const record = records[i];
        if (!record) vanished++;
        else {
          const op = toOperation(record, job.runId, at);
          if (op) ops.push(op);
          else corrupt++;
        }
      }
      await writing;
      writing = quiet(
        inSpan(
          "archive batch",
          () => ({ attributes: { "gsk.source": id, "gsk.batch_size": records.length } }),
          async (span) => {
            const written = await sink(ops);
            span.setAttributes({
              "gsk.inserted": written.inserted,
              "gsk.unchanged": written.unchanged,
              "gsk.failed": written.failed,
            });
            return written;
          },
        ).then(async (written) => {
          const c = state.counts;
          c.vanished += vanished;
          c.inserted += written.inserted;
          c.unchanged += written.unchanged;
          c.failed += written.failed + corrupt;
          c.scanned = c.inserted + c.unchanged + c.failed;
          state.cursors[id] = next;
          await job.checkpoint(state);
        }),
      );
    }
    await writing;
    state.done.push(id);
    await job.checkpoint(state);
  }
  const policies = await copyPolicies(deps, at);
  return { ...state.counts, policies };
}

/** Marks a promise that is awaited later, so that its failure is not reported as unhandled meanwhile. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Upserts every TTL policy into `policies` (never deleting one: a run cannot erase the backup). */
async function copyPolicies(deps: ArchiveDeps, at: Date): Promise<number> {
  let copied = 0;
  for await (const page of deps.policies.list(deps.scanCount)) {
    if (page.length === 0) continue;
    await deps.archive.policies.bulkWrite(
      page.map(({ accountId, flowId, ttlSeconds }) => ({
        updateOne: {
          filter: { accountId, flowId },
          update: { $set: { ttlSeconds, lastSeenAt: at } },
          upsert: true,
        },
      })),
      { ordered: false },
    );
    copied += page.length;
  }
  return copied;
}
