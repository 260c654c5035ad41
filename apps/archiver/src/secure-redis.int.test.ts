// The archiver on Redis as managed services run it: a password and TLS only, one node or a cluster.
// It reaches Redis with both clients (node-redis for the entries, ioredis for BullMQ), and each must
// give the nodes a cluster announces the credentials and TLS of the URL.
import { fileURLToPath } from "node:url";
import { spawnNode, startSecureRedis, test, waitFor } from "@gsk/testing";
import { describe, expect, onTestFinished } from "vitest";
import { archiverEnv, meta, resetArchive, runNow, startArchiver } from "./test-support.ts";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

describe.each(["single", "cluster"] as const)("archiver on Redis with a password and TLS (%s)", (kind) => {
  test("archives every node's entries in a run, and the CLI restores them after a flush", async ({
    mongo,
  }) => {
    await resetArchive(mongo);
    const redis = await startSecureRedis(kind);
    // Registered first, so it runs after the archiver's own stop (test-finished hooks run last-in, first-out).
    onTestFinished(() => redis.stop());
    const env = archiverEnv(redis.urls, mongo, { REDIS_CLUSTER: String(redis.cluster) });
    const { archiver, entries } = await startArchiver(env, mongo);
    const keys = Array.from({ length: 12 }, (_, i) => `secure-${i}`);
    for (const webhookKey of keys) await entries.write({ meta: meta({ webhookKey }), dataJson: "1" });
    expect(await runNow(archiver)).toMatchObject({ scanned: 12, inserted: 12, failed: 0 });

    await redis.flushAll();
    const restore = spawnNode(CLI, ["restore"], { ...env, NODE_EXTRA_CA_CERTS: redis.ca });
    expect(await restore.exit(), restore.stderr()).toBe(0);
    expect(JSON.parse(restore.stdout().trim().split("\n").at(-1) ?? "null")).toMatchObject({ restored: 12 });
    await waitFor(async () => (await entries.read("secure-11")) !== null, "restored entry");
    for (const key of keys) expect(await entries.read(key)).not.toBeNull();
  });
});
