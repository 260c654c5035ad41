// The baseline: node:http + node-redis doing the same single read (HMGET) and write.
import { createServer } from "node:http";
import { createClient } from "redis";

const [url, port] = [process.argv[2], Number(process.argv[3])];
const redis = createClient({ url, commandOptions: { timeout: 0 } });
await redis.connect();
createServer(async (req, res) => {
  const key = (req.url ?? "").slice("/v1/data/".length);
  const [body, etag] = await redis.hmGet(`gsk:entry:${key}`, ["b", "t"]);
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "Content-Type": "application/json", ETag: etag ?? "" }).end(body);
}).listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
