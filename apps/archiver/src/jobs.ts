import { randomBytes } from "node:crypto";
import type { RedisKeys } from "@gsk/redis-keys";
import { type RedisEndpoint, redisEndpoint } from "@gsk/redis-store";
import type { ErasureRequest } from "@gsk/schema";
import type { ConnectionOptions, Queue, QueueOptions } from "bullmq";
import { Cluster, Redis as IORedis } from "ioredis";
import * as v from "valibot";
import type { Env } from "./env.ts";
import { ERASE_JOB } from "./erasure.ts";

export const QUEUE_NAME = "archive";
const SCHEDULER_ID = "nightly-archive";

/** Job data: what started the run, and (after a failed attempt) where it stopped. */
export const JobDataSchema = v.object({
  trigger: v.picklist(["schedule", "manual"]),
  state: v.optional(
    v.object({
      cursors: v.record(v.string(), v.string()),
      done: v.array(v.string()),
      counts: v.object({
        scanned: v.number(),
        vanished: v.number(),
        inserted: v.number(),
        unchanged: v.number(),
        failed: v.number(),
      }),
    }),
  ),
});
export type JobData = v.InferOutput<typeof JobDataSchema>;

/**
 * An ioredis connection for BullMQ (a Cluster when REDIS_CLUSTER=true); workers need
 * `maxRetriesPerRequest: null`. The queue prefix is a hash tag, so each queue lives in one slot.
 */
export function bullConnection(env: Pick<Env, "REDIS_URL" | "REDIS_CLUSTER">): IORedis | Cluster {
  const options = { maxRetriesPerRequest: null, enableOfflineQueue: true } as const;
  if (env.REDIS_CLUSTER) {
    // The nodes the cluster announces get redisOptions only: the credentials and TLS go there.
    const seeds = env.REDIS_URL.map(redisEndpoint);
    const { username, password, tls } = seeds[0] as RedisEndpoint;
    return new Cluster(
      seeds.map(({ host, port }) => ({ host, port })),
      { redisOptions: { ...options, username, password, ...(tls ? { tls: {} } : {}) } },
    );
  }
  return new IORedis(env.REDIS_URL[0] as string, options);
}

export function queueOptions(env: Env, keys: RedisKeys, connection: ConnectionOptions): QueueOptions {
  return {
    connection,
    prefix: keys.bullPrefix,
    defaultJobOptions: {
      attempts: env.ARCHIVE_ATTEMPTS,
      backoff: { type: "exponential", delay: env.ARCHIVE_BACKOFF_MS, jitter: 0.5 },
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    },
  };
}

/** Registers (or updates) the nightly schedule: idempotent across pods and restarts. */
export async function registerSchedule(queue: Queue, env: Env): Promise<void> {
  await queue.setGlobalConcurrency(1);
  await queue.upsertJobScheduler(
    SCHEDULER_ID,
    { pattern: env.ARCHIVE_CRON, tz: env.ARCHIVE_TZ },
    { name: "archive", data: { trigger: "schedule" } satisfies JobData },
  );
}

/**
 * Queues an erasure on the archive queue, so it never runs while an archive run does (one job at a
 * time across every pod): a run cannot re-archive what the erasure removes.
 */
export async function enqueueErasure(queue: Queue, request: ErasureRequest): Promise<{ erasureId: string }> {
  const job = await queue.add(
    ERASE_JOB,
    { erasure: request },
    { jobId: `erasure-${new Date().toISOString().replace(/[:.]/g, "-")}-${randomBytes(3).toString("hex")}` },
  );
  return { erasureId: job.id as string };
}

/** Queues a manual run unless one is waiting or active. */
export async function enqueueManualRun(queue: Queue): Promise<{ runId: string } | { busy: true }> {
  const counts = await queue.getJobCounts("waiting", "active", "prioritized");
  if (Object.values(counts).some((n) => n > 0)) return { busy: true };
  const job = await queue.add("archive", { trigger: "manual" } satisfies JobData, {
    jobId: `manual-${new Date().toISOString().replace(/[:.]/g, "-")}`,
  });
  return { runId: job.id as string };
}
