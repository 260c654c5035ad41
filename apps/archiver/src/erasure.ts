import type { RedisKeys } from "@gsk/redis-keys";
import type { EntryStore } from "@gsk/redis-store";
import { describeIssues, type ErasureRequest, ErasureRequestSchema } from "@gsk/schema";
import type { Logger } from "@gsk/service";
import { type Job, UnrecoverableError } from "bullmq";
import type { Filter } from "mongodb";
import * as v from "valibot";
import type { Archive, EntryDoc } from "./collections.ts";

/** The BullMQ job name of an erasure (the archive queue's other job: they never overlap). */
export const ERASE_JOB = "erase";

export interface ErasureDeps {
  entries: EntryStore;
  keys: RedisKeys;
  archive: Archive;
  scanCount: number;
  logger: Logger;
  now: () => number;
}

export interface ErasureCounts {
  redisScanned: number;
  redisDeleted: number;
  archiveDeleted: number;
}

/** Whether a stored entry's body belongs to what the erasure names. */
function matches(body: string, request: ErasureRequest): boolean {
  try {
    const { accountId, flowId } = JSON.parse(body) as { accountId?: string; flowId?: string };
    return accountId === request.accountId && (request.flowId === undefined || flowId === request.flowId);
  } catch {
    return false;
  }
}

/**
 * Deletes the live entries an erasure names: the listed keys, or every key of the account (of the
 * flow) found by scanning every primary. A key is deleted only while it still holds that account's
 * entry (the store's atomic check), so a key another account took since is left alone.
 */
async function eraseLive(
  deps: ErasureDeps,
  request: ErasureRequest,
  report: (counts: Pick<ErasureCounts, "redisScanned" | "redisDeleted">) => Promise<void>,
): Promise<Pick<ErasureCounts, "redisScanned" | "redisDeleted">> {
  const counts = { redisScanned: 0, redisDeleted: 0 };
  const account = new Set([request.accountId]);
  const erase = async (webhookKey: string, body: string | undefined) => {
    counts.redisScanned++;
    if (body === undefined || !matches(body, request)) return;
    if (await deps.entries.remove(webhookKey, account)) counts.redisDeleted++;
  };
  if (request.webhookKeys) {
    for (const webhookKey of request.webhookKeys)
      await erase(webhookKey, (await deps.entries.read(webhookKey))?.body);
    await report(counts);
    return counts;
  }
  for (const source of await deps.entries.scanSources()) {
    let cursor = "0";
    do {
      const page = await deps.entries.scanKeys(source, cursor, deps.scanCount);
      const records = await deps.entries.readForArchive(source, page.keys);
      for (const [i, key] of page.keys.entries()) {
        const webhookKey = deps.keys.webhookKeyOf(key);
        if (webhookKey !== undefined) await erase(webhookKey, records[i]?.body);
      }
      cursor = page.cursor;
      await report(counts);
    } while (cursor !== "0");
  }
  return counts;
}

/** The archived versions an erasure names. */
function archiveFilter(request: ErasureRequest): Filter<EntryDoc> {
  return {
    accountId: request.accountId,
    ...(request.flowId !== undefined ? { flowId: request.flowId } : {}),
    ...(request.webhookKeys ? { webhookKey: { $in: request.webhookKeys } } : {}),
  };
}

/**
 * The BullMQ processor of an erasure: deletes the live entries and every archived version it names
 * and records it in `erasures` (what was asked and the counts, no customer data). Idempotent: a
 * retried attempt deletes what is left.
 */
export function createEraser(deps: ErasureDeps) {
  return async (job: Job): Promise<ErasureCounts> => {
    const parsed = v.safeParse(ErasureRequestSchema, job.data?.erasure);
    if (!parsed.success) throw new UnrecoverableError(`invalid erasure: ${describeIssues(parsed.issues)}`);
    const request = parsed.output;
    const erasureId = job.id as string;
    const log = deps.logger.child({ erasureId, accountId: request.accountId, flowId: request.flowId });
    log.info({ keys: request.webhookKeys?.length ?? "all" }, "erasure started");
    await deps.archive.erasures.updateOne(
      { _id: erasureId },
      {
        $setOnInsert: {
          requestedAt: new Date(job.timestamp),
          accountId: request.accountId,
          flowId: request.flowId ?? null,
          webhookKeys: request.webhookKeys ?? null,
        },
        $set: { status: "running", finishedAt: null, redisDeleted: 0, archiveDeleted: 0 },
      },
      { upsert: true },
    );
    try {
      const live = await eraseLive(deps, request, async (counts) => {
        await job.updateProgress({ ...counts, archiveDeleted: 0 });
      });
      const { deletedCount } = await deps.archive.entries.deleteMany(archiveFilter(request));
      const counts: ErasureCounts = { ...live, archiveDeleted: deletedCount };
      await job.updateProgress(counts);
      await deps.archive.erasures.updateOne(
        { _id: erasureId },
        {
          $set: {
            status: "succeeded",
            finishedAt: new Date(deps.now()),
            redisDeleted: counts.redisDeleted,
            archiveDeleted: counts.archiveDeleted,
          },
        },
      );
      log.info(counts, "erasure succeeded");
      return counts;
    } catch (error) {
      log.error({ err: error }, "erasure attempt failed");
      await deps.archive.erasures
        .updateOne({ _id: erasureId }, { $set: { status: "failed", error: (error as Error).message } })
        .catch(() => log.warn("could not record the failure in erasures (MongoDB down?)"));
      throw error;
    }
  };
}
