// A walk through the whole pipeline on the local stack (run ./scripts/dev.sh first), printing
// each step and what it proves: gateway POST, read (ETag, 304), TTL policy, archive run, history,
// Redis flushed and restored, a poison message dead-lettered and replayed after its cause is
// fixed, and the demo account erased. Exits non-zero at the first step that does not hold.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { sqsClient } from "@gsk/testing/servers";
import { apps, devToken, LOCAL_QUEUES, PORTS, SQS_ENDPOINT } from "./local-stack.ts";

const ROOT = resolve(import.meta.dirname, "..");
const api = process.env.GSK_API_URL ?? `http://127.0.0.1:${PORTS.api}`;
const token = devToken();
const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
const services = Object.fromEntries(
  apps(LOCAL_QUEUES.queueUrl, LOCAL_QUEUES.dlqUrl, token).map((s) => [s.name, s]),
);
const run = `demo-${Date.now().toString(36)}`;
const key = `${run}-order`;
const sharedKey = `${run}-shared`;
const started = performance.now();
let step = 0;

function say(title: string, proves: string): void {
  step++;
  console.log(`\n${step}. ${title}\n   proves: ${proves}`);
}

function check(ok: boolean, what: string): void {
  if (!ok) {
    console.error(`   FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`   ok: ${what}`);
}

async function call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { ...headers, ...extra },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      console.error(`   FAILED: timed out waiting for ${what}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs an app's CLI with the app's own environment; returns its last stdout line (JSON). */
function cli(app: "ingest-worker" | "archiver", args: string[]): Record<string, unknown> {
  const service = services[app];
  if (!service) throw new Error(`${app} is not built: run ./scripts/dev.sh first`);
  const out = spawnSync(process.execPath, [join(ROOT, "apps", app, "dist", "cli.js"), ...args], {
    env: { PATH: process.env.PATH, ...service.env },
    encoding: "utf8",
  });
  for (const line of out.stderr.trim().split("\n").filter(Boolean)) console.log(`   | ${line}`);
  if (out.status !== 0) {
    console.error(`   FAILED: ${app} ${args.join(" ")} exited ${out.status}`);
    process.exit(1);
  }
  return JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "null") as Record<string, unknown>;
}

const envelope = (over: Record<string, unknown> = {}) => ({
  accountId: "demo",
  flowId: "orders",
  webhookKeys: [key],
  data: { order: 42, note: "hello from the demo" },
  ...over,
});

say("POST /v1/data in gateway mode", "get-api validates the envelope and SQS accepted it (202 only then)");
const posted = await call("POST", "/v1/data", envelope());
check(posted.status === 202, `202 ${JSON.stringify(posted.json)}`);

say("GET /v1/data/{key}", "the worker took it from the queue and stored it under the webhook key");
const read = await until("the entry", async () => {
  const res = await call("GET", `/v1/data/${key}`);
  return res.status === 200 ? res : undefined;
});
const etag = read.headers.get("etag") ?? "";
check(read.json?.eventId === posted.json?.eventId, `200, ETag ${etag}, expiresAt ${read.json?.expiresAt}`);
const again = await call("GET", `/v1/data/${key}`, undefined, { "If-None-Match": etag });
check(again.status === 304, "304 Not Modified with If-None-Match: a product polls without downloading");

say("PUT a TTL policy for the flow", "TTLs resolve flow > account > default, and new writes use it");
const policy = await call("PUT", "/v1/ttl-policies/accounts/demo/flows/orders", { ttlSeconds: 3600 });
check(policy.status === 200, "flow policy 3600 s");
const effective = await call("GET", "/v1/ttl-policies/effective?accountId=demo&flowId=orders");
check(
  effective.json?.source === "flow" && effective.json?.ttlSeconds === 3600,
  JSON.stringify(effective.json),
);

say("archiver run-now", "the nightly copy of Redis to MongoDB, run on demand, one run at a time");
const archived = cli("archiver", ["run-now"]);
check(Number(archived.scanned) >= 1 && archived.failed === 0, JSON.stringify(archived));

say("GET /v1/data/{key}/history", "the archive keeps every version of a key, newest first");
const history = await call("GET", `/v1/data/${key}/history`);
const versions = (history.json?.versions ?? []) as { eventId: string; firstArchivedAt: string }[];
check(
  history.status === 200 && versions[0]?.eventId === posted.json?.eventId,
  `${versions.length} version(s), first archived ${versions[0]?.firstArchivedAt}`,
);

say(
  "FLUSHALL on Redis, then archiver restore",
  "after losing Redis, the archive brings every live entry back as it was",
);
const flushed = spawnSync("redis-cli", ["-p", String(PORTS.redis), "FLUSHALL"], { encoding: "utf8" });
check(flushed.stdout.trim() === "OK", "Redis is empty");
check((await call("GET", `/v1/data/${key}`)).status === 404, "the entry is gone (404)");
const restored = cli("archiver", ["restore"]);
check(Number(restored.restored) >= 1, JSON.stringify(restored));
const back = await call("GET", `/v1/data/${key}`);
check(back.status === 200 && back.headers.get("etag") === etag, "200 with the same ETag: restored exactly");

say(
  "a poison message, dead-lettered",
  "a key belongs to one account at a time; a refused message is kept, with its reason",
);
check(
  (await call("POST", "/v1/data", envelope({ accountId: "demo-other", webhookKeys: [sharedKey] }))).status ===
    202,
  "another account writes the shared key",
);
await until("the other account's entry", async () =>
  (await call("GET", `/v1/data/${sharedKey}`)).status === 200 ? true : undefined,
);
// Sent to SQS directly, as a producer behind API Gateway would (get-api would refuse it with 409).
const sqs = sqsClient(SQS_ENDPOINT);
await sqs.send(
  new SendMessageCommand({
    QueueUrl: LOCAL_QUEUES.queueUrl,
    MessageBody: JSON.stringify(envelope({ webhookKeys: [sharedKey], eventId: `${run}-replayed` })),
  }),
);
sqs.destroy();
const listed = await until("the dead letter", async () => {
  const out = cli("ingest-worker", ["dlq", "list", "--code", "account_conflict", "--limit", "3"]);
  return Number(out.total) >= 1 ? out : undefined;
});
check(true, `dlq list: ${JSON.stringify(listed)}`);

say(
  "fix the cause, then ingest-worker dlq replay",
  "after the fix, a dead letter is replayed and processed as the first time",
);
check(
  (await call("DELETE", `/v1/data/${sharedKey}`)).status === 204,
  "the other account's entry is deleted: the key is free",
);
const replayed = cli("ingest-worker", ["dlq", "replay", "--code", "account_conflict"]);
check(Number(replayed.replayed) >= 1, JSON.stringify(replayed));
const replayedEntry = await until("the replayed message", async () => {
  const res = await call("GET", `/v1/data/${sharedKey}`);
  return res.status === 200 && res.json?.accountId === "demo" ? res : undefined;
});
check(
  replayedEntry.json?.eventId === `${run}-replayed`,
  `the key now holds demo's entry ${replayedEntry.json?.eventId}`,
);

say(
  "archiver erase --account demo",
  "a customer's data is removed from Redis and from the archive, with a record of it",
);
const erased = cli("archiver", ["erase", "--account", "demo"]);
check(Number(erased.redisDeleted) >= 2 && Number(erased.archiveDeleted) >= 1, JSON.stringify(erased));
check((await call("GET", `/v1/data/${key}`)).status === 404, "the live entry is gone");
check((await call("GET", `/v1/data/${key}/history`)).status === 404, "its archived versions are gone");
await call("DELETE", "/v1/ttl-policies/accounts/demo/flows/orders");

console.log(`\nThe whole pipeline, shown in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
