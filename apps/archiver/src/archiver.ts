import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, type RedisHandle } from "@gsk/redis-store";
import { DEFAULT_TTL_SECONDS } from "@gsk/schema";
import { type Authenticator, type HttpServer, type Logger, listen } from "@gsk/service";
import { createPolicyStore } from "@gsk/ttl-policy";
import { Queue, Worker } from "bullmq";
import type { MongoClient } from "mongodb";
import { createApp } from "./app.ts";
import { archiveOf, ensureIndexes } from "./collections.ts";
import type { Env } from "./env.ts";
import { createEraser, ERASE_JOB } from "./erasure.ts";
import { bullConnection, QUEUE_NAME, queueOptions, registerSchedule } from "./jobs.ts";
import { createArchiveMetrics } from "./metrics.ts";
import { createProcessor } from "./processor.ts";

/** How often runs left "running" by a job BullMQ failed are looked for (also on failed/stalled events). */
const RECONCILE_EVERY_MS = 60_000;

export interface ArchiverDeps {
  env: Env;
  redis: RedisHandle;
  mongo: MongoClient;
  auth: Authenticator;
  logger: Logger;
  now?: () => number;
}

/** The archiver: schedule, worker (one run at a time across every pod), HTTP app. */
export function createArchiver(deps: ArchiverDeps) {
  const { env, logger } = deps;
  const keys = redisKeys(env.REDIS_PREFIX);
  const archive = archiveOf(deps.mongo.db(env.MONGO_DB));
  const metrics = createArchiveMetrics();
  const queueConnection = bullConnection(env);
  const workerConnection = bullConnection(env);
  for (const c of [queueConnection, workerConnection]) {
    c.on("error", (error: Error) => logger.warn({ err: error }, "bullmq redis connection error"));
  }
  const queue = new Queue(QUEUE_NAME, queueOptions(env, keys, queueConnection));
  queue.on("error", (error) => logger.warn({ err: error }, "queue error"));

  let indexes: Promise<void> | undefined;
  const indexesReady = () => {
    indexes ??= ensureIndexes(archive, env.ARCHIVE_RETENTION_DAYS).catch((error: unknown) => {
      indexes = undefined;
      throw error;
    });
    return indexes;
  };
  const entries = createEntryStore(deps.redis, keys);
  const process = createProcessor({
    entries,
    policies: createPolicyStore(deps.redis, keys, DEFAULT_TTL_SECONDS),
    archive,
    metrics,
    logger,
    scanCount: env.ARCHIVE_SCAN_COUNT,
    now: deps.now ?? Date.now,
  });
  const erase = createEraser({
    entries,
    keys,
    archive,
    logger,
    scanCount: env.ARCHIVE_SCAN_COUNT,
    now: deps.now ?? Date.now,
  });
  let worker: Worker | undefined;
  let http: HttpServer | undefined;
  let stopping = false;
  let reconciling: NodeJS.Timeout | undefined;

  /**
   * Sets the last-success gauge from `runs`, and marks failed the runs BullMQ failed without the processor recording it (a job that stalled too
   * often fails in BullMQ's own scripts, seen by no processor): a run must not stay "running".
   */
  const reconcile = async () => {
    try {
      // The last success survives restarts (the gauge starts at 0 in a new process): from `runs`.
      const last = await archive.runs.find({ status: "succeeded" }).sort({ finishedAt: -1 }).limit(1).next();
      if (last?.finishedAt) metrics.lastSuccess.set(last.finishedAt.getTime() / 1000);
      for (const run of await archive.runs.find({ status: "running" }).toArray()) {
        const job = await queue.getJob(run._id);
        const state = job ? await job.getState() : "missing";
        if (state !== "failed" && state !== "missing") continue;
        const error = job?.failedReason || "the job is gone from the queue";
        await archive.runs.updateOne(
          { _id: run._id, status: "running" },
          { $set: { status: "failed", error, finishedAt: new Date(deps.now?.() ?? Date.now()) } },
        );
        logger.warn({ runId: run._id, error }, "archive run failed in BullMQ; recorded");
      }
    } catch (error) {
      logger.warn({ err: error }, "could not reconcile runs (MongoDB or Redis down?)");
    }
  };

  const app = createApp({
    queue,
    auth: deps.auth,
    metrics,
    logger,
    boardReadOnly: env.ARCHIVE_BOARD_READ_ONLY,
    ready: {
      redis: () => deps.redis.ping(),
      mongodb: () => deps.mongo.db(env.MONGO_DB).command({ ping: 1 }, { timeoutMS: 2000 }),
    },
    stopping: () => stopping,
  });

  return {
    app,
    queue,
    archive,
    metrics,
    get port() {
      return http?.port ?? 0;
    },
    /**
     * Starts the HTTP listener first (health answers while Redis or MongoDB are down), then
     * registers the schedule and starts the worker once Redis answers.
     */
    async start() {
      http = await listen(app, env.PORT, env.HOST);
      logger.info({ port: http.port, cron: env.ARCHIVE_CRON, tz: env.ARCHIVE_TZ }, "archiver listening");
      try {
        await registerSchedule(queue, env);
      } catch (error) {
        // A SIGTERM during start closes the connection under this call: that is the stop, not a failure.
        if (stopping) return;
        throw error;
      }
      if (stopping) return;
      indexesReady().catch((error: unknown) =>
        logger.warn({ err: error }, "MongoDB not ready; indexes will be made on the next run"),
      );
      worker = new Worker(
        QUEUE_NAME,
        async (job) => {
          await indexesReady();
          return job.name === ERASE_JOB ? erase(job) : process(job);
        },
        { connection: workerConnection, prefix: keys.bullPrefix, concurrency: 1, lockDuration: 60_000 },
      );
      worker.on("error", (error) => logger.error({ err: error }, "bullmq worker error"));
      worker.on("failed", (job, error) => {
        logger.warn({ runId: job?.id, attemptsMade: job?.attemptsMade, err: error }, "archive job failed");
        void reconcile();
      });
      worker.on("stalled", () => void reconcile());
      reconciling = setInterval(() => void reconcile(), RECONCILE_EVERY_MS);
      reconciling.unref();
      void reconcile();
      logger.info({ cron: env.ARCHIVE_CRON, tz: env.ARCHIVE_TZ }, "archiver started");
    },
    reconcile,
    /** Fails readiness, lets a running job finish (within the deadline), closes everything. */
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(reconciling);
      await http?.close();
      await worker?.close();
      await queue.close();
      queueConnection.disconnect();
      workerConnection.disconnect();
    },
  };
}
