// pnpm bench ingest [--messages N]: the worker's messages/s against fauxqs and redis-server on this
// machine, next to (a) a raw ReceiveMessage + DeleteMessageBatch loop (8 pollers, no work) and
// (b) sqs-consumer one message at a time with one Redis write each, all measured in this run; and
// the worker once more against a primary with a replica attached (REDIS_MIN_REPLICAS=auto: WAIT on;
// the replica replicates from the primary directly, as a managed Redis's do). Each measurement also
// reports this process's CPU per message, how busy its main thread was and fauxqs's CPU share: the
// SQS client side, not fauxqs, is the bottleneck here, for the raw loop as for the worker.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { createRedis, redisConfig } from "@gsk/redis-store";
import { createLogger } from "@gsk/service";
import {
  cpuSeconds,
  createQueueWithDlq,
  median,
  queueDepth,
  startRedis,
  startRedisWithReplica,
  startSqs,
} from "@gsk/testing/servers";
import { createClient } from "redis";
import { Consumer } from "sqs-consumer";
import { NODE_OPTIONS, parseEnv } from "../src/env.ts";
import { createWorker } from "../src/worker.ts";

// The worker runs in this process: it gets the worker's deployed Node flags (on the command line,
// so that fauxqs and redis-server, started from here, keep theirs).
const flags = NODE_OPTIONS.split(" ");
if (!flags.every((flag) => process.execArgv.includes(flag))) {
  const again = spawnSync(process.execPath, [...flags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
  });
  process.exit(again.status ?? 1);
}

const { values } = parseArgs({
  options: { messages: { type: "string", default: "20000" }, rounds: { type: "string", default: "5" } },
});
const N = Number(values.messages);
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 9) throw new Error("--rounds must be 1-9");
if (!Number.isInteger(N) || N < 100 || N > 1_000_000) throw new Error("--messages must be 100-1000000");

const redisServer = await startRedis();
const replicated = await startRedisWithReplica();
const sqsServer = await startSqs();
const sqs = sqsServer.client();
let round = 0;

const body = (i: number) =>
  JSON.stringify({
    accountId: "bench",
    flowId: "flow",
    webhookKeys: [`key-${i % 50_000}`],
    data: { i, pad: "x".repeat(880) },
  });

async function fill(count: number): Promise<{ queueUrl: string; dlqUrl: string }> {
  const queues = await createQueueWithDlq(sqs, `bench-${++round}`, { maxReceiveCount: 100 });
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const start = next;
        next += 10;
        const entries = Array.from({ length: Math.min(10, count - start) }, (_, j) => ({
          Id: String(j),
          MessageBody: body(start + j),
        }));
        await sqs.send(new SendMessageBatchCommand({ QueueUrl: queues.queueUrl, Entries: entries }));
      }
    }),
  );
  return queues;
}

interface Sample {
  rate: number;
  /** CPU seconds (user + system, all threads) of this process per message. */
  cpuPerMessage: number;
  /** The share of the time this process's main thread was busy (event loop utilization). */
  mainThreadBusy: number;
  /** fauxqs's CPU seconds per second. */
  sqsCpu: number;
}

async function timeUntilDrained(
  queueUrl: string,
  count: number,
  start: () => Promise<() => Promise<void>>,
): Promise<Sample> {
  const cpu = process.cpuUsage();
  const loop = performance.eventLoopUtilization();
  const sqsCpu = cpuSeconds(sqsServer.pid);
  const t0 = performance.now();
  const stop = await start();
  while ((await queueDepth(sqs, queueUrl)) > 0) await new Promise((r) => setTimeout(r, 20));
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  const sample = {
    rate: count / seconds,
    cpuPerMessage: (used.user + used.system) / 1e6 / count,
    mainThreadBusy: performance.eventLoopUtilization(loop).utilization,
    sqsCpu: (cpuSeconds(sqsServer.pid) - sqsCpu) / seconds,
  };
  await stop();
  return sample;
}

async function rawLoop(client: SQSClient, count: number): Promise<Sample> {
  const { queueUrl } = await fill(count);
  return timeUntilDrained(queueUrl, count, async () => {
    let running = true;
    const pollers = Array.from({ length: 8 }, async () => {
      while (running) {
        const { Messages } = await client.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        if (!Messages?.length) continue;
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    });
    return async () => {
      running = false;
      await Promise.all(pollers);
    };
  });
}

async function oneAtATime(count: number): Promise<Sample> {
  const { queueUrl } = await fill(count);
  const redis = createClient({ url: redisServer.url });
  await redis.connect();
  const sample = await timeUntilDrained(queueUrl, count, async () => {
    const consumer = Consumer.create({
      queueUrl,
      sqs,
      useQueueUrlAsEndpoint: false,
      waitTimeSeconds: 1,
      handleMessage: async (message) => {
        await redis.set(`single:${message.MessageId}`, message.Body ?? "");
        return message;
      },
    });
    consumer.start();
    return async () => consumer.stop();
  });
  redis.destroy();
  return sample;
}

async function worker(count: number, concurrency: number, redisUrl = redisServer.url): Promise<Sample> {
  const queues = await fill(count);
  const env = parseEnv({
    REDIS_URL: redisUrl,
    SQS_ENDPOINT: sqsServer.endpoint,
    SQS_QUEUE_URL: queues.queueUrl,
    SQS_DLQ_URL: queues.dlqUrl,
    PORT: "0",
    HOST: "127.0.0.1",
    INGEST_WAIT_SECONDS: "1",
    INGEST_CONCURRENCY: String(concurrency),
  });
  const redis = createRedis(redisConfig(env), () => {});
  await redis.client.connect();
  // The deployed log level (a line per batch at info), each line serialized as in production.
  const logger = createLogger(env.LOG_LEVEL, "ingest-worker", { write: () => {} });
  const w = createWorker({ env, redis, sqs, logger });
  const sample = await timeUntilDrained(queues.queueUrl, count, async () => {
    await w.start();
    return () => w.stop();
  });
  const stored = await w.metrics.messages.get();
  const handled = stored.values.reduce((a, v) => a + v.value, 0);
  if (handled < count) throw new Error(`worker handled ${handled} of ${count}`);
  redis.client.destroy();
  return sample;
}

const fmt = (n: number) => `${Math.round(n).toLocaleString("en")} msg/s`;
const concurrencies = (process.env.GSK_BENCH_CONCURRENCY ?? "1,8,16,32").split(",").map(Number);
const DEFAULT_CONCURRENCY = parseEnv({
  SQS_QUEUE_URL: "http://q",
  SQS_DLQ_URL: "http://d",
  REDIS_URL: "redis://r",
}).INGEST_CONCURRENCY;
console.error(
  `ingest bench: ${N} messages of ~1 KiB per measurement, median of ${ROUNDS} rounds (fauxqs and redis-server in their own processes; this one with ${NODE_OPTIONS}; the worker logs at the default LOG_LEVEL, info)`,
);
const samples = {
  raw: [] as Sample[],
  atDefault: [] as Sample[],
  single: [] as Sample[],
  worker: new Map<number, Sample[]>(),
  durable: [] as Sample[],
};
// Unmeasured full passes first: fauxqs keeps getting faster over its first passes, which would
// penalise whatever is measured first.
for (let pass = 0; pass < 2; pass++) {
  await rawLoop(sqs, N);
  await worker(N, DEFAULT_CONCURRENCY);
}
for (let round = 0; round < ROUNDS; round++) {
  // The goal's pair, back to back and in turns first: the machine's speed drifts by tens of
  // percent within minutes, so each round's ratio compares the two at the same moment.
  if (round % 2 === 0) {
    samples.raw.push(await rawLoop(sqs, N));
    samples.atDefault.push(await worker(N, DEFAULT_CONCURRENCY));
  } else {
    samples.atDefault.push(await worker(N, DEFAULT_CONCURRENCY));
    samples.raw.push(await rawLoop(sqs, N));
  }
  samples.single.push(await oneAtATime(Math.min(N, 2000)));
  for (const c of concurrencies) {
    if (c === DEFAULT_CONCURRENCY) continue;
    samples.worker.set(c, [...(samples.worker.get(c) ?? []), await worker(N, c)]);
  }
  samples.durable.push(await worker(N, DEFAULT_CONCURRENCY, replicated.primary.url));
}
samples.worker.set(DEFAULT_CONCURRENCY, samples.atDefault);

const med = (xs: Sample[], field: keyof Sample) => median(xs.map((x) => x[field]));
const pct = (share: number) => `${Math.round(share * 100)}%`;
/** A measurement's median rate, with this process's CPU per message, main thread and fauxqs CPU. */
const describe = (xs: Sample[]) =>
  `${fmt(med(xs, "rate"))}  [${(med(xs, "cpuPerMessage") * 1e6).toFixed(0)} µs CPU/message here, main thread busy ${pct(med(xs, "mainThreadBusy"))}, fauxqs CPU ${pct(med(xs, "sqsCpu"))}]`;
/** Each round's rate over the raw loop's rate in the same round. */
const ratios = (xs: Sample[]) => xs.map((x, i) => x.rate / (samples.raw[i]?.rate ?? Number.NaN));
const list = (rs: number[]) => rs.map((r) => r.toFixed(2)).join(", ");

const single = med(samples.single, "rate");
console.log(`raw Receive+DeleteBatch loop, 8 pollers: ${describe(samples.raw)}`);
console.log(`sqs-consumer one at a time + SET:      ${fmt(single)}`);
let best = 0;
for (const c of [...samples.worker.keys()].sort((a, b) => a - b)) {
  const xs = samples.worker.get(c) ?? [];
  const rate = med(xs, "rate");
  best = Math.max(best, rate);
  console.log(
    `worker, INGEST_CONCURRENCY=${String(c).padEnd(2)}:          ${describe(xs)}  (${median(ratios(xs)).toFixed(2)}x raw, ${(rate / single).toFixed(1)}x one-at-a-time)`,
  );
}
console.log(`worker, default concurrency, replica attached, WAIT on: ${describe(samples.durable)}`);
const atDefault = ratios(samples.atDefault);
const durable = ratios(samples.durable);
const cpuRatio = med(samples.raw, "cpuPerMessage") / med(samples.atDefault, "cpuPerMessage");
console.log(
  `\nworker at the default concurrency (${DEFAULT_CONCURRENCY}) / raw loop, median of the rounds' ratios: ${median(atDefault).toFixed(2)} (goal >= 0.85; rounds: ${list(atDefault)}); by this process's CPU per message: ${cpuRatio.toFixed(2)}` +
    `\nworker / one-at-a-time: ${(best / single).toFixed(1)}x (goal >= 20x); durable / raw: ${median(durable).toFixed(2)} (goal >= 0.80; rounds: ${list(durable)})`,
);
sqs.destroy();
await sqsServer.stop();
await redisServer.dispose();
await replicated.dispose();
process.exit(0);
