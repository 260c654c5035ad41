#!/usr/bin/env node
// archiver run-now | restore [--account A] [--flow F] [--dry-run] | status [--limit N]
// Configured by the app's environment. Progress goes to stderr; the last stdout line is JSON.
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis, redisConfig } from "@gsk/redis-store";
import { DEFAULT_TTL_SECONDS, IdSchema } from "@gsk/schema";
import { CliError, cliEnv, parseCommandLine, progress, runCli } from "@gsk/service";
import { createPolicyStore } from "@gsk/ttl-policy";
import { Queue, QueueEvents } from "bullmq";
import { MongoClient } from "mongodb";
import * as v from "valibot";
import { archiveOf } from "./collections.ts";
import { parseEnv } from "./env.ts";
import { bullConnection, enqueueManualRun, QUEUE_NAME, queueOptions } from "./jobs.ts";
import { restore } from "./restore.ts";

const USAGE =
  "usage: archiver run-now [--timeout SECONDS] | restore [--account A [--flow F]] [--dry-run] | status [--limit N]";

const FlagsSchema = v.pipe(
  v.object({
    command: v.picklist(
      ["run-now", "restore", "status"],
      `the command must be run-now, restore or status (${USAGE})`,
    ),
    account: v.optional(IdSchema),
    flow: v.optional(IdSchema),
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
  const keys = redisKeys(env.REDIS_PREFIX);

  if (flags.command === "run-now") {
    const connection = bullConnection(env);
    const queue = new Queue(QUEUE_NAME, queueOptions(env, keys, connection));
    const events = new QueueEvents(QUEUE_NAME, { connection: bullConnection(env), prefix: keys.bullPrefix });
    try {
      await events.waitUntilReady();
      const queued = await enqueueManualRun(queue);
      if ("busy" in queued) throw new CliError("an archive run is already waiting or active");
      err(`queued run ${queued.runId}; waiting for an archiver worker to run it`);
      events.on("progress", ({ jobId, data }) => {
        if (jobId === queued.runId) err(`progress ${JSON.stringify(data)}`);
      });
      const job = await queue.getJob(queued.runId);
      if (!job) throw new CliError(`run ${queued.runId} vanished from the queue`);
      try {
        return await job.waitUntilFinished(events, flags.timeout * 1000);
      } catch (error) {
        throw new CliError(`run ${queued.runId} failed: ${(error as Error).message}`);
      }
    } finally {
      await events.close();
      await queue.close();
      connection.disconnect();
    }
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
      return { runs };
    }
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

runCli("archiver", () => main(process.argv.slice(2)));
