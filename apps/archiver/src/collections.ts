import { type ArchivedEntryDoc, ENTRIES_COLLECTION } from "@gsk/schema";
import type { Collection, Db } from "mongodb";

/** One archived version of an entry (`docs/architecture.md`, "The archive"). */
export type EntryDoc = ArchivedEntryDoc;

export interface PolicyDoc {
  accountId: string;
  flowId: string | null;
  ttlSeconds: number | null;
  lastSeenAt: Date;
}

type RunStatus = "running" | "succeeded" | "failed";

/** The counts of a run: scanned = inserted + unchanged + failed. */
export interface RunCounts {
  scanned: number;
  vanished: number;
  inserted: number;
  unchanged: number;
  failed: number;
}

export interface RunDoc extends RunCounts {
  _id: string;
  trigger: "schedule" | "manual";
  startedAt: Date;
  finishedAt: Date | null;
  status: RunStatus;
  attempts: number;
  durationMs: number | null;
  error?: string;
}

/** One erasure: what was asked and what was deleted; never the data itself. */
export interface ErasureDoc {
  _id: string;
  requestedAt: Date;
  finishedAt: Date | null;
  status: RunStatus;
  accountId: string;
  flowId: string | null;
  webhookKeys: string[] | null;
  redisDeleted: number;
  archiveDeleted: number;
  error?: string;
}

export interface Archive {
  entries: Collection<EntryDoc>;
  policies: Collection<PolicyDoc>;
  runs: Collection<RunDoc>;
  erasures: Collection<ErasureDoc>;
}

const ENTRY_INDEX = "webhookKey_1_producedAt_-1_eventId_1";
const RETENTION_INDEX = "lastArchivedAt_retention";

export function archiveOf(db: Db): Archive {
  return {
    entries: db.collection<EntryDoc>(ENTRIES_COLLECTION),
    policies: db.collection<PolicyDoc>("policies"),
    runs: db.collection<RunDoc>("runs"),
    erasures: db.collection<ErasureDoc>("erasures"),
  };
}

/**
 * Creates the indexes the contract names; with `retentionDays` a TTL index on lastArchivedAt
 * (created, or changed with collMod), without it none (dropped if a previous start made one).
 */
export async function ensureIndexes(archive: Archive, retentionDays: number | undefined): Promise<void> {
  await archive.entries.createIndex(
    { webhookKey: 1, producedAt: -1, eventId: 1 },
    { unique: true, name: ENTRY_INDEX },
  );
  await archive.policies.createIndex(
    { accountId: 1, flowId: 1 },
    { unique: true, name: "accountId_1_flowId_1" },
  );
  await archive.runs.createIndex({ startedAt: -1 }, { name: "startedAt_-1" });
  const existing = (await archive.entries.listIndexes().toArray()).find((i) => i.name === RETENTION_INDEX);
  if (retentionDays === undefined) {
    if (existing) await archive.entries.dropIndex(RETENTION_INDEX);
    return;
  }
  const seconds = retentionDays * 86_400;
  if (!existing) {
    await archive.entries.createIndex(
      { lastArchivedAt: 1 },
      { name: RETENTION_INDEX, expireAfterSeconds: seconds },
    );
  } else if (existing.expireAfterSeconds !== seconds) {
    await archive.entries.db.command({
      collMod: archive.entries.collectionName,
      index: { name: RETENTION_INDEX, expireAfterSeconds: seconds },
    });
  }
}
