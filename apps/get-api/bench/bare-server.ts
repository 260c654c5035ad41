// The baseline: node:http + node-redis doing the same reads (one HMGET; a batch pipelined).
// With --content-length it sends a found entry's length, as get-api does, instead of Node's
// default chunked framing (a second baseline, to show what that framing costs).
import { createServer } from "node:http";
import { createClient } from "redis";

const [url, port] = [process.argv[2], Number(process.argv[3])];
const withLength = process.argv.includes("--content-length");
const redis = createClient({ url, commandOptions: { timeout: 0 } });
await redis.connect();
createServer(async (req, res) => {
  if (req.method === "POST") {
    // The batch read: every key in one pipeline, the stored JSON joined as is.
    let body = "";
    for await (const chunk of req) body += chunk;
    const keys: string[] = JSON.parse(body).webhookKeys;
    const found = await Promise.all(keys.map((k) => redis.hmGet(`gsk:entry:${k}`, ["b"])));
    const entries = found.map(([b]) => b).filter((b) => b != null);
    res
      .writeHead(200, { "Content-Type": "application/json" })
      .end(`{"entries":[${entries.join(",")}],"missing":[]}`);
    return;
  }
  const key = (req.url ?? "").slice("/v1/data/".length);
  const [body, etag] = await redis.hmGet(`gsk:entry:${key}`, ["b", "t"]);
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  const headers: Record<string, string> = { "Content-Type": "application/json", ETag: etag ?? "" };
  if (withLength) headers["Content-Length"] = String(Buffer.byteLength(body));
  res.writeHead(200, headers).end(body);
}).listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
