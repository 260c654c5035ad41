#!/usr/bin/env node
// archiver run-now | restore [--account A] [--flow F] [--dry-run] | erase --account A [--flow F] [--key K]...
//   | status [--limit N]
// Configured by the app's environment. Progress goes to stderr; the last stdout line is JSON.
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis, redisConfig } from "@gsk/redis-store";
import { DEFAULT_TTL_SECONDS, IdSchema, WebhookKeySchema } from "@gsk/schema";
import { CliError, cliEnv, parseCommandLine, progress, runCli } from "@gsk/service";
import { createPolicyStore } from "@gsk/ttl-policy";
import { Queue, QueueEvents } from "bullmq";
import { MongoClient } from "mongodb";
import * as v from "valibot";
import { archiveOf } from "./collections.ts";
import { parseEnv } from "./env.ts";
import { bullConnection, enqueueErasure, enqueueManualRun, QUEUE_NAME, queueOptions } from "./jobs.ts";
import { restore } from "./restore.ts";

const USAGE =
  "usage: archiver run-now [--timeout SECONDS] | restore [--account A [--flow F]] [--dry-run] | erase --account A [--flow F] [--key K]... | status [--limit N]";

const FlagsSchema = v.pipe(
  v.object({
    command: v.picklist(
      ["run-now", "restore", "erase", "status"],
      `the command must be run-now, restore, erase or status (${USAGE})`,
    ),
    account: v.optional(IdSchema),
    flow: v.optional(IdSchema),
    key: v.optional(v.pipe(v.array(WebhookKeySchema), v.maxLength(1000, "at most 1000 keys")), []),
    "dry-run": v.optional(v.boolean(), false),
    timeout: v.optional(
      v.pipe(v.string(), v.regex(/^\d+$/, "must be whole seconds"), v.transform(Number), v.minValue(1)),
      "3600",
    ),
    limit: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^\d+$/, "must be a whole number"),
        v.transform(Number),
        v.minValue(1),
        v.maxValue(1000),
      ),
      "10",
    ),
  }),
  v.forward(
    v.check((f) => f.flow === undefined || f.account !== undefined, "--flow needs --account"),
    ["flow"],
  ),
);

function parseFlags(argv: string[]) {
  return parseCommandLine(
    argv,
    {
      account: { type: "string" },
      flow: { type: "string" },
      key: { type: "string", multiple: true },
      "dry-run": { type: "boolean" },
      timeout: { type: "string" },
      limit: { type: "string" },
    },
    FlagsSchema,
    USAGE,
  );
}

const err = progress;

async function main(argv: string[]): Promise<unknown> {
  const flags = parseFlags(argv);
  const env = cliEnv(() => parseEnv(process.env));

  if (flags.command === "run-now") {
    return queueAndWait(env, flags.timeout, async (queue) => {
      const queued = await enqueueManualRun(queue);
      if ("busy" in queued) throw new CliError("an archive run or erasure is already waiting or active");
      err(`queued run ${queued.runId}; waiting for an archiver worker to run it`);
      return queued.runId;
    });
  }
  if (flags.command === "erase") {
    if (flags.account === undefined) throw new CliError(`erase needs --account; ${USAGE}`, 2);
    const request = {
      accountId: flags.account,
      ...(flags.flow !== undefined ? { flowId: flags.flow } : {}),
      ...(flags.key.length > 0 ? { webhookKeys: flags.key } : {}),
    };
    let erasureId = "";
    const counts = await queueAndWait(env, flags.timeout, async (queue) => {
      ({ erasureId } = await enqueueErasure(queue, request));
      err(`queued erasure ${erasureId}; waiting for an archiver worker to run it`);
      return erasureId;
    });
    return { erasureId, ...(counts as object) };
  }

  const mongo = new MongoClient(env.MONGO_URL, { serverSelectionTimeoutMS: 5000 });
  try {
    const archive = archiveOf(mongo.db(env.MONGO_DB));
    if (flags.command === "status") {
      const runs = await archive.runs.find({}).sort({ startedAt: -1 }).limit(flags.limit).toArray();
      for (const r of runs) {
        err(
          `${r._id}  ${r.trigger}  ${r.status}  started ${r.startedAt.toISOString()}  scanned ${r.scanned}  inserted ${r.inserted}  failed ${r.failed}`,
        );
      }
      const erasures = await archive.erasures.find({}).sort({ requestedAt: -1 }).limit(flags.limit).toArray();
      for (const e of erasures) {
        err(
          `${e._id}  ${e.status}  account ${e.accountId}${e.flowId ? ` flow ${e.flowId}` : ""}${e.webhookKeys ? ` ${e.webhookKeys.length} keys` : ""}  redis ${e.redisDeleted}  archive ${e.archiveDeleted}`,
        );
      }
      return { runs, erasures };
    }
    const keys = redisKeys(env.REDIS_PREFIX);
    const redis = createRedis(redisConfig(env), () => {});
    await redis.client.connect();
    try {
      err(
        `restoring${flags["dry-run"] ? " (dry run: nothing is written)" : ""}${flags.account ? ` account ${flags.account}` : ""}${flags.flow ? ` flow ${flags.flow}` : ""}`,
      );
      return await restore(
        archive,
        createEntryStore(redis, keys),
        createPolicyStore(redis, keys, DEFAULT_TTL_SECONDS),
        {
          confirmWrites: (webhookKeys) => redis.confirmWrites(webhookKeys.map((k) => keys.entry(k))),
          accountId: flags.account,
          flowId: flags.flow,
          dryRun: flags["dry-run"],
          now: Date.now,
          onProgress: (n) => err(`examined ${n} archived versions`),
        },
      );
    } finally {
      await redis.client.close();
    }
  } finally {
    await mongo.close();
  }
}

/**
 * Queues a job on the archive queue (`enqueue` returns its id) and waits for an archiver worker to
 * finish it, printing its progress; the job's result is the command's.
 */
async function queueAndWait(
  env: ReturnType<typeof parseEnv>,
  timeoutSeconds: number,
  enqueue: (queue: Queue) => Promise<string>,
): Promise<unknown> {
  const keys = redisKeys(env.REDIS_PREFIX);
  const connection = bullConnection(env);
  const queue = new Queue(QUEUE_NAME, queueOptions(env, keys, connection));
  const events = new QueueEvents(QUEUE_NAME, { connection: bullConnection(env), prefix: keys.bullPrefix });
  try {
    await events.waitUntilReady();
    const jobId = await enqueue(queue);
    events.on("progress", ({ jobId: id, data }) => {
      if (id === jobId) err(`progress ${JSON.stringify(data)}`);
    });
    const job = await queue.getJob(jobId);
    if (!job) throw new CliError(`${jobId} vanished from the queue`);
    try {
      return await job.waitUntilFinished(events, timeoutSeconds * 1000);
    } catch (error) {
      throw new CliError(`${jobId} failed: ${(error as Error).message}`);
    }
  } finally {
    await events.close();
    await queue.close();
    connection.disconnect();
  }
}

runCli("archiver", () => main(process.argv.slice(2)));
