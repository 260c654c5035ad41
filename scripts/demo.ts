// Posts an envelope to the local get-api in gateway mode, then reads it back once the
// ingest worker has stored it. Run ./scripts/dev.sh first.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const base = process.env.GSK_API_URL ?? "http://127.0.0.1:3000";
const token = readFileSync(join(ROOT, ".gsk/dev-token"), "utf8").trim();
const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
const webhookKey = `demo-${Date.now()}`;

const posted = await fetch(`${base}/v1/data`, {
  method: "POST",
  headers,
  body: JSON.stringify({
    accountId: "demo",
    flowId: "orders",
    webhookKeys: [webhookKey],
    data: { hello: "world" },
  }),
});
console.log(`POST /v1/data -> ${posted.status} ${await posted.text()}`);
if (posted.status !== 202) process.exit(1);

for (let i = 0; i < 50; i++) {
  const res = await fetch(`${base}/v1/data/${webhookKey}`, { headers });
  if (res.status === 200) {
    console.log(`GET /v1/data/${webhookKey} -> 200 ETag ${res.headers.get("etag")}\n${await res.text()}`);
    process.exit(0);
  }
  await new Promise((r) => setTimeout(r, 200));
}
console.error(`the entry did not appear within 10 s; see .gsk/ingest-worker.log`);
process.exit(1);
