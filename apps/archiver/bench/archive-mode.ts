// One measured pass over the keys, in a process of its own so that its peak RSS is its own.
// Usage: node archive-mode.ts raw|read|full REDIS_URL MONGO_URL SCAN_COUNT; prints one JSON line.
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis } from "@gsk/redis-store";
import { DEFAULT_TTL_SECONDS } from "@gsk/schema";
import { createPolicyStore } from "@gsk/ttl-policy";
import { MongoClient } from "mongodb";
import { archiveOf, ensureIndexes } from "../src/collections.ts";
import { archiveRun, emptyState, mongoSink, type Sink } from "../src/run.ts";

const [mode, redisUrl, mongoUrl, count] = process.argv.slice(2) as [string, string, string, string];
const scanCount = Number(count);
const handle = createRedis({ urls: [redisUrl], cluster: false }, () => {});
await handle.client.connect();
const keys = redisKeys("gsk");
const t0 = performance.now();
let processed = 0;

if (mode === "raw") {
  // The read ceiling: SCAN, then one pipeline of HMGET + PEXPIRETIME per batch, nothing else.
  const redis = handle.client;
  let cursor = "0";
  do {
    const page = await redis.scan(cursor, { MATCH: keys.entryPattern, COUNT: scanCount });
    const replies = await Promise.all(
      page.keys.flatMap((k) => [redis.hmGet(k, ["b"]), redis.pExpireTime(k)]),
    );
    processed += replies.length / 2;
    cursor = page.cursor;
  } while (cursor !== "0");
} else {
  const mongo = new MongoClient(mongoUrl);
  const archive = archiveOf(mongo.db("gsk_bench"));
  if (mode === "full") await ensureIndexes(archive, undefined);
  const sink: Sink =
    mode === "full" ? mongoSink(archive) : async (ops) => ({ inserted: ops.length, unchanged: 0, failed: 0 });
  const counts = await archiveRun(
    {
      entries: createEntryStore(handle, keys),
      policies: createPolicyStore(handle, keys, DEFAULT_TTL_SECONDS),
      archive,
      now: Date.now,
      scanCount,
      sink,
    },
    { runId: `bench-${mode}`, state: emptyState(), checkpoint: async () => {} },
  );
  processed = counts.scanned + counts.vanished;
  await mongo.close();
}
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(
  `${JSON.stringify({ mode, keys: processed, keysPerSecond: Math.round(processed / seconds), seconds: Number(seconds.toFixed(1)), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
handle.client.destroy();
process.exit(0);
