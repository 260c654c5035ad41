// The CLI's dead-letter tools (the built dist/cli.js), on fauxqs, with a worker consuming the source queue.

import { fileURLToPath } from "node:url";
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore } from "@gsk/redis-store";
import { spawnNode, test, waitFor } from "@gsk/testing";
import { createPolicyStore } from "@gsk/ttl-policy";
import { describe, expect } from "vitest";
import { outcomeCount, redisHandle, startWorker, workerEnv } from "./test-support.ts";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const keys = redisKeys("gsk");

async function cli(args: string[], env: Record<string, string>) {
  const run = spawnNode(CLI, args, env);
  const code = await run.exit();
  const last = run.stdout().trim().split("\n").at(-1) ?? "";
  return { code, stderr: run.stderr(), result: last ? JSON.parse(last) : undefined };
}

/** Visible messages (not in flight). */
async function visible(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

describe("ingest-worker dlq", () => {
  test("lists dead letters by code without changing them, and replays only the chosen code", async ({
    redis,
    sqs,
    queues,
  }) => {
    const handle = await redisHandle(redis.url);
    const entries = createEntryStore(handle, keys);
    const policies = createPolicyStore(handle, keys, 604_800);
    await policies.set({ accountId: "acme", flowId: "short" }, { ttlSeconds: 60 });
    // Two keys held by another account: acme's messages for them are dead-lettered (account_conflict).
    for (const webhookKey of ["taken", "taken-short"]) {
      const at = Date.now();
      await entries.write({
        meta: {
          webhookKey,
          accountId: "other",
          flowId: "f",
          eventId: "x",
          producedAt: at,
          storedAt: at,
          expiresAt: at + 600_000,
        },
        dataJson: "0",
      });
    }
    const env = workerEnv({ redisUrls: [redis.url], endpoint: sqs.endpoint, ...queues });
    const client = sqs.client();
    const worker = await startWorker(env, client);
    const shortProducedAt = Date.now() - 57_000;
    const messages = [
      JSON.stringify({
        accountId: "acme",
        flowId: "f",
        webhookKeys: ["taken"],
        data: { v: 1 },
        eventId: "evt-1",
      }),
      // Expires (60 s TTL) a few seconds after it was dead-lettered.
      JSON.stringify({
        accountId: "acme",
        flowId: "short",
        webhookKeys: ["taken-short"],
        data: { v: 2 },
        producedAt: new Date(shortProducedAt).toISOString(),
      }),
      "{not json",
    ];
    for (const body of messages) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queues.queueUrl,
          MessageBody: body,
          MessageAttributes: { origin: { DataType: "String", StringValue: "kairos-7" } },
        }),
      );
    }
    await waitFor(async () => (await visible(client, queues.dlqUrl)) === 3, "3 dead letters", 15_000);

    const listed = await cli(["dlq", "list"], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.result).toEqual({ total: 3, byCode: { account_conflict: 2, invalid_json: 1 } });
    expect(listed.stderr).toContain("webhook keys held by another account's live entry: taken");
    // Looked at, not taken: every message is visible again at once.
    expect(await visible(client, queues.dlqUrl)).toBe(3);
    const oneCode = await cli(["dlq", "list", "--code", "invalid_json", "--limit", "1"], env);
    expect(oneCode.result).toEqual({ total: 1, byCode: { invalid_json: 1 } });

    // The cause is fixed: the keys are free again. The short-lived message has expired by now.
    for (const key of ["taken", "taken-short"]) await entries.remove(key, "*");
    await waitFor(
      async () => Date.now() > shortProducedAt + 61_000 || undefined,
      "the 60 s TTL to pass",
      10_000,
      100,
    );

    const dry = await cli(["dlq", "replay", "--code", "account_conflict", "--dry-run"], env);
    expect(dry.result).toEqual({ replayed: 2, left: 1, byCode: { account_conflict: 2, invalid_json: 1 } });
    expect(await visible(client, queues.dlqUrl)).toBe(3);

    const replay = await cli(["dlq", "replay", "--code", "account_conflict"], env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.result).toEqual({ replayed: 2, left: 1, byCode: { account_conflict: 2, invalid_json: 1 } });
    expect(await visible(client, queues.dlqUrl)).toBe(1);
    // Processed as the first time would have been, had the key been free: stored, and the one past its TTL expired.
    await waitFor(async () => (await outcomeCount(worker, "expired")) === 1, "the expired one", 15_000);
    await waitFor(async () => (await entries.read("taken")) !== null, "the stored one", 15_000);
    expect(JSON.parse((await entries.read("taken"))?.body ?? "")).toMatchObject({
      accountId: "acme",
      eventId: "evt-1",
      data: { v: 1 },
    });
    expect(await entries.read("taken-short")).toBeNull();
    const left = await cli(["dlq", "list"], env);
    expect(left.result).toEqual({ total: 1, byCode: { invalid_json: 1 } });
  });

  test("refuses bad flags with a message naming them", async ({ redis, sqs, queues }) => {
    const env = workerEnv({ redisUrls: [redis.url], endpoint: sqs.endpoint, ...queues });
    const bad = await cli(["dlq", "replay", "--code", "nope", "--max", "0"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--code: must be one of invalid_json");
    expect(bad.stderr).toContain("--max: must be at least 1");
    const unknown = await cli(["dlq", "purge"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("the command must be dlq list or dlq replay");
  });
});
