// The built API on Redis as managed services run it: a password and TLS only, one node or a
// cluster (whose announced nodes need the credentials and TLS too); the process trusts the test CA
// through NODE_EXTRA_CA_CERTS, as a deployment with a private CA would.
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis } from "@gsk/redis-store";
import { exited, freePort, spawnNode, startSecureRedis, test, waitFor } from "@gsk/testing";
import { describe, expect } from "vitest";
import { auth, TOKENS } from "./test-support.ts";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const API_TOKENS = JSON.stringify([
  {
    id: "reader",
    sha256: createHash("sha256").update(TOKENS.reader).digest("hex"),
    scopes: ["data:read"],
    accounts: ["*"],
  },
]);

describe.each(["single", "cluster"] as const)("get-api on Redis with a password and TLS (%s)", (kind) => {
  test("is ready and serves entries from every node", async () => {
    const redis = await startSecureRedis(kind);
    const writer = createRedis({ urls: redis.urls, cluster: redis.cluster }, () => {});
    try {
      await writer.client.connect();
      const entries = createEntryStore(writer, redisKeys("gsk"));
      const keys = Array.from({ length: 12 }, (_, i) => `secure-${i}`);
      for (const webhookKey of keys) {
        const at = Date.now();
        await entries.write({
          meta: {
            webhookKey,
            accountId: "acme",
            flowId: "f",
            eventId: "e",
            producedAt: at,
            storedAt: at,
            expiresAt: at + 60_000,
          },
          dataJson: `"${webhookKey}"`,
        });
      }
      const port = await freePort();
      const { child } = spawnNode(MAIN, [], {
        REDIS_URL: redis.urls.join(","),
        REDIS_CLUSTER: String(redis.cluster),
        NODE_EXTRA_CA_CERTS: redis.ca,
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
        API_TOKENS,
      });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/readyz`)).ok, "ready", 15_000, 100);
      for (const key of keys) {
        const res = await fetch(`${base}/v1/data/${key}`, { headers: auth(TOKENS.reader) });
        expect(res.status).toBe(200);
        expect(((await res.json()) as { data: unknown }).data).toBe(key);
      }
      child.kill("SIGTERM");
      await exited(child);
      expect(child.exitCode).toBe(0);
    } finally {
      writer.client.destroy();
      await redis.stop();
    }
  });
});
