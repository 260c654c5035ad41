import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { createClient, createCluster } from "redis";
import { describe, expect, onTestFinished } from "vitest";
import { test } from "./fixtures.ts";
import { waitFor } from "./processes.ts";
import { drainQueue } from "./sqs/index.ts";

describe("redis fixtures", () => {
  test("gives a running redis-server on 127.0.0.1, not 6379", async ({ redis }) => {
    expect(redis.port).not.toBe(6379);
    const client = createClient({ url: redis.url });
    await client.connect();
    onTestFinished(() => client.destroy());
    await client.set("left-over", "1");
    expect(await client.get("left-over")).toBe("1");
    expect(await redis.cli("CONFIG", "GET", "bind")).toContain("127.0.0.1");
  });

  test("flushes the shared server before each test", async ({ redis }) => {
    expect(await redis.cli("DBSIZE")).toBe("0");
  });

  test("stops and starts a server on the same port", async ({ redis }) => {
    const client = createClient({
      url: redis.url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: 50 },
    });
    client.on("error", () => {});
    await client.connect();
    onTestFinished(() => client.destroy());
    await redis.stop();
    await expect(client.ping()).rejects.toThrow();
    await redis.start();
    await waitFor(async () => (await client.ping()) === "PONG", "reconnect");
  });

  test("builds a cluster of three masters that node-redis can use", async ({ redisCluster }) => {
    expect(redisCluster.nodes).toHaveLength(3);
    const cluster = createCluster({ rootNodes: redisCluster.urls.map((url) => ({ url })) });
    await cluster.connect();
    onTestFinished(() => cluster.destroy());
    for (let i = 0; i < 30; i++) await cluster.set(`key-${i}`, String(i));
    const sizes = await Promise.all(redisCluster.nodes.map(async (n) => Number(await n.cli("DBSIZE"))));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(30);
    expect(sizes.every((n) => n > 0)).toBe(true);
  });
});

describe("sqs fixture", () => {
  test("moves a message to the DLQ after maxReceiveCount receives", async ({ sqs, queues }) => {
    const client = sqs.client();
    onTestFinished(() => client.destroy());
    expect(sqs.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await client.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: "hello" }));
    for (let i = 0; i < 5; i++) {
      const { Messages } = await client.send(
        new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, WaitTimeSeconds: 1 }),
      );
      expect(Messages?.[0]?.Body).toBe("hello");
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queues.queueUrl,
          ReceiptHandle: Messages?.[0]?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    expect(await drainQueue(client, queues.queueUrl)).toHaveLength(0);
    const dead = await drainQueue(client, queues.dlqUrl);
    expect(dead.map((m) => m.Body)).toEqual(["hello"]);
  });
});

describe("cleanup", () => {
  test("servers die with the process that started them, even on SIGKILL", async () => {
    const script = fileURLToPath(new URL("./servers.ts", import.meta.url));
    const child = spawn(
      process.execPath,
      [
        "--no-warnings",
        "--input-type=module",
        "-e",
        `const s = await import(${JSON.stringify(script)});
         const r = await s.startRedis(); const q = await s.startSqs();
         console.log(JSON.stringify({ redis: r.port, sqs: q.endpoint })); setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const started = await new Promise<{ redis: number; sqs: string }>((resolve) => {
      child.stdout.once("data", (d) => resolve(JSON.parse(String(d))));
    });
    const reachable = async () => {
      const client = createClient({
        url: `redis://127.0.0.1:${started.redis}`,
        socket: { reconnectStrategy: false },
      });
      client.on("error", () => {});
      try {
        await client.connect();
        await client.ping();
        client.destroy();
        return true;
      } catch {
        return false;
      }
    };
    const sqsUp = () =>
      fetch(`${started.sqs}/health`).then(
        () => true,
        () => false,
      );
    expect(await reachable()).toBe(true);
    expect(await sqsUp()).toBe(true);
    child.kill("SIGKILL");
    await waitFor(async () => !(await reachable()) && !(await sqsUp()), "servers to stop", 5000);
  });
});
