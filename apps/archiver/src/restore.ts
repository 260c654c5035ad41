import { type EntryStore, isNewerVersion } from "@gsk/redis-store";
import type { PolicyStore } from "@gsk/ttl-policy";
import type { Filter } from "mongodb";
import type { Archive, EntryDoc, PolicyDoc } from "./collections.ts";

export interface RestoreOptions {
  accountId?: string | undefined;
  flowId?: string | undefined;
  dryRun: boolean;
  now: () => number;
  /** Whether the writes to these webhook keys reached the required replicas (default: yes). */
  confirmWrites?: (keys: string[]) => Promise<boolean>;
  /** Called every `progressEvery` entries examined. */
  onProgress?: (examined: number) => void;
  progressEvery?: number;
}

export interface RestoreCounts {
  restored: number;
  skippedNewer: number;
  skippedExpired: number;
  /** Keys holding another account's live entry (a key holds one account's data at a time). */
  skippedConflict: number;
  policiesRestored: number;
}

const BATCH = 256;

/**
 * Writes the newest archived version of each webhook key back to Redis, exactly as archived,
 * expiring at its original expiresAt, unless Redis holds that version or a newer one, or a live
 * entry of another account; expired versions are skipped. Then writes back the archived TTL policies Redis lacks.
 */
export async function restore(
  archive: Archive,
  entries: EntryStore,
  policies: PolicyStore,
  options: RestoreOptions,
): Promise<RestoreCounts> {
  const counts: RestoreCounts = {
    restored: 0,
    skippedNewer: 0,
    skippedExpired: 0,
    skippedConflict: 0,
    policiesRestored: 0,
  };
  const filter: Filter<EntryDoc> = {};
  if (options.accountId) filter.accountId = options.accountId;
  if (options.flowId) filter.flowId = options.flowId;
  const now = options.now();
  let examined = 0;
  let batch: EntryDoc[] = [];

  const flush = async () => {
    const docs = batch;
    batch = [];
    await Promise.all(docs.map((doc) => restoreOne(doc)));
    // Nothing is reported restored before the replicas have it (re-running a restore is safe).
    if (!options.dryRun && options.confirmWrites && docs.length > 0) {
      if (!(await options.confirmWrites(docs.map((doc) => doc.webhookKey)))) {
        throw new Error("Redis replicas did not confirm the restored entries in time; run the restore again");
      }
    }
  };
  const restoreOne = async (doc: EntryDoc) => {
    if (doc.expiresAt !== null && doc.expiresAt.getTime() <= now) {
      counts.skippedExpired++;
      return;
    }
    const meta = {
      webhookKey: doc.webhookKey,
      accountId: doc.accountId,
      flowId: doc.flowId,
      eventId: doc.eventId,
      producedAt: doc.producedAt.getTime(),
      storedAt: doc.storedAt.getTime(),
      expiresAt: doc.expiresAt === null ? null : doc.expiresAt.getTime(),
    };
    if (options.dryRun) {
      const [[owner], held] = await Promise.all([
        entries.owners([doc.webhookKey]),
        entries.readVersion(doc.webhookKey),
      ]);
      const archived = { producedAtMs: doc.producedAt.getTime(), eventId: doc.eventId };
      if (owner != null && owner !== doc.accountId) counts.skippedConflict++;
      else if (held && !isNewerVersion(archived, held)) counts.skippedNewer++;
      else counts.restored++;
      return;
    }
    const result = await entries.write({ meta, dataJson: JSON.stringify(doc.data) });
    if (result === "written") counts.restored++;
    else if (result === "conflict") counts.skippedConflict++;
    else counts.skippedNewer++;
  };

  // The index order puts each key's newest producedAt first; among equal producedAt the
  // greatest eventId (the last one) wins, as in Redis.
  const cursor = archive.entries
    .find(filter, { projection: { _id: 0, firstArchivedAt: 0, lastArchivedAt: 0, runId: 0 } })
    .sort({ webhookKey: 1, producedAt: -1, eventId: 1 });
  let candidate: EntryDoc | undefined;
  for await (const doc of cursor) {
    examined++;
    if (candidate && candidate.webhookKey === doc.webhookKey) {
      if (candidate.producedAt.getTime() === doc.producedAt.getTime()) candidate = doc;
      continue;
    }
    if (candidate) batch.push(candidate);
    candidate = doc;
    if (batch.length >= BATCH) await flush();
    if (options.onProgress && examined % (options.progressEvery ?? 10_000) === 0)
      options.onProgress(examined);
  }
  if (candidate) batch.push(candidate);
  await flush();

  const policyFilter: Filter<PolicyDoc> = {};
  if (options.accountId) policyFilter.accountId = options.accountId;
  if (options.flowId) policyFilter.flowId = options.flowId;
  for await (const doc of archive.policies.find(policyFilter)) {
    const scope = { accountId: doc.accountId, flowId: doc.flowId };
    if (await policies.get(scope)) continue;
    if (!options.dryRun) await policies.set(scope, { ttlSeconds: doc.ttlSeconds });
    counts.policiesRestored++;
  }
  return counts;
}
