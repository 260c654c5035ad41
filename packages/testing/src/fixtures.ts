import { spawn } from "node:child_process";
import { createClient } from "redis";
import { test as base, onTestFinished } from "vitest";
import { type MongoInstance, openMongo } from "./mongo/index.ts";
import { exited, reapOnExit } from "./processes.ts";
import { type RedisCluster, type RedisServer, startRedis, startRedisCluster } from "./redis.ts";
import { createQueueWithDlq, type QueuePair, type SqsServer, startSqs } from "./sqs/index.ts";

let queueCounter = 0;

export interface TestFixtures {
  /** This worker's shared `redis-server`, flushed before the test. */
  redis: RedisServer;
  /** A `redis-server` of the test's own, for tests whose background loops outlive the test. */
  ownRedis: RedisServer;
  /** This file's Redis Cluster (three masters), flushed before the test. */
  redisCluster: RedisCluster;
  /** A fresh queue with its DLQ (maxReceiveCount 5, visibility 30 s) on this worker's fauxqs. */
  queues: QueuePair;
}

export interface WorkerFixtures {
  redisServer: RedisServer;
  sqs: SqsServer;
}

export interface FileFixtures {
  clusterServer: RedisCluster;
  /** This file's MongoDB (`MONGO_URL` or the test server) with a database of its own. */
  mongo: MongoInstance;
}

/** Vitest `test` with fixtures that start real servers on 127.0.0.1. */
export const test = base.extend<{ $test: TestFixtures; $file: FileFixtures; $worker: WorkerFixtures }>({
  redisServer: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads fixture dependencies from the pattern
    async ({}, use) => {
      const server = await startRedis();
      await use(server);
      await server.dispose();
    },
    { scope: "worker" },
  ],
  redis: async ({ redisServer }, use) => {
    if (!redisServer.running) await redisServer.start();
    await redisServer.cli("FLUSHALL");
    await use(redisServer);
    if (!redisServer.running) await redisServer.start();
  },
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads fixture dependencies from the pattern
  ownRedis: async ({}, use) => {
    const server = await startRedis();
    await use(server);
    await server.dispose();
  },
  clusterServer: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads fixture dependencies from the pattern
    async ({}, use) => {
      const cluster = await startRedisCluster();
      await use(cluster);
      await cluster.stop();
    },
    { scope: "file" },
  ],
  redisCluster: async ({ clusterServer }, use) => {
    await Promise.all(clusterServer.nodes.map((n) => n.cli("FLUSHALL")));
    await use(clusterServer);
  },
  mongo: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads fixture dependencies from the pattern
    async ({}, use) => {
      const mongo = await openMongo();
      await use(mongo);
      await mongo.close();
    },
    { scope: "file" },
  ],
  sqs: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest reads fixture dependencies from the pattern
    async ({}, use) => {
      const server = await startSqs();
      await use(server);
      await server.stop();
    },
    { scope: "worker" },
  ],
  queues: async ({ sqs }, use) => {
    const client = sqs.client();
    queueCounter += 1;
    await use(await createQueueWithDlq(client, `test-${process.pid}-${queueCounter}`));
    client.destroy();
  },
});

/** A connected node-redis client, destroyed when the test ends. */
export async function redisClient(url: string) {
  const client = createClient({ url });
  await client.connect();
  onTestFinished(() => client.destroy());
  return client;
}

/**
 * Runs a Node script (a built app or CLI) with only PATH and `env` in its environment; it is
 * killed when the test ends. Its output is collected; `exit()` resolves with its exit code.
 */
export function spawnNode(script: string, args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [script, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  reapOnExit(child);
  onTestFinished(() => {
    child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => stdout + stderr,
    exit: () => exited(child).then(() => child.exitCode),
  };
}
