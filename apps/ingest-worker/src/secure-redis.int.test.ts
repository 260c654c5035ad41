// Redis as managed services run it: a password and TLS only, one node or a cluster whose nodes are
// reached at the addresses the cluster announces (credentials and TLS must reach those too).
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis } from "@gsk/redis-store";
import { startSecureRedis, test, waitFor } from "@gsk/testing";
import { describe, expect, onTestFinished } from "vitest";
import { outcomeCount, send, startWorker, workerEnv } from "./test-support.ts";

describe.each(["single", "cluster"] as const)(
  "ingest worker on Redis with a password and TLS (%s)",
  (kind) => {
    test("stores a message under keys spread over every node", async ({ sqs, queues }) => {
      const redis = await startSecureRedis(kind);
      // Registered first, so it runs after the worker's own stop (test-finished hooks run last-in, first-out).
      onTestFinished(() => redis.stop());
      const reader = createRedis({ urls: redis.urls, cluster: redis.cluster }, () => {});
      onTestFinished(() => reader.client.destroy());
      const client = sqs.client();
      const worker = await startWorker(
        workerEnv({ redisUrls: redis.urls, cluster: redis.cluster, endpoint: sqs.endpoint, ...queues }),
        client,
      );
      const keys = Array.from({ length: 12 }, (_, i) => `secure-${i}`);
      await send(client, queues.queueUrl, {
        accountId: "acme",
        flowId: "f",
        webhookKeys: keys,
        data: { ok: 1 },
      });
      await waitFor(async () => (await outcomeCount(worker, "stored")) === 1, "stored", 15_000);
      await reader.client.connect();
      const entries = createEntryStore(reader, redisKeys("gsk"));
      for (const key of keys) expect((await entries.read(key))?.body).toContain('"data":{"ok":1}');
    });
  },
);
