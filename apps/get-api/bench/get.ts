// pnpm bench get [--keys N] [--seconds S]: GET /v1/data/{key} of get-api (built bundle, auth and
// ETag on, 1 KiB entries, random keys, 64 connections) against a bare node:http + node-redis
// server doing the same read, at saturation and at a fixed rate of half the bare maximum.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis } from "@gsk/redis-store";
import { freePort, reapOnExit, startRedis } from "@gsk/testing/servers";
import autocannon from "autocannon";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "100000" },
    seconds: { type: "string", default: "10" },
    "log-level": { type: "string", default: "info" },
  },
});
const KEYS = Number(values.keys);
const SECONDS = Number(values.seconds);
const TOKEN = "bench-token-0123456789";

const redisServer = await startRedis();
const redis = createRedis({ urls: [redisServer.url], cluster: false }, () => {});
await redis.client.connect();
const store = createEntryStore(redis, redisKeys("gsk"));
const data = JSON.stringify({ pad: "x".repeat(800), n: 1 });
for (let i = 0; i < KEYS; i += 1000) {
  await Promise.all(
    Array.from({ length: Math.min(1000, KEYS - i) }, (_, j) =>
      store.write({
        meta: {
          webhookKey: `key-${i + j}`,
          accountId: "bench",
          flowId: "flow",
          eventId: `e-${i + j}`,
          producedAt: Date.now() - 60_000,
          storedAt: Date.now() - 59_900,
          expiresAt: null,
        },
        dataJson: data,
      }),
    ),
  );
}
redis.client.destroy();

async function serve(command: string[], env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, command, {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  reapOnExit(child);
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status < 500) return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server on ${port} did not start`);
}

function load(port: number, rate?: number) {
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: 64,
    duration: SECONDS,
    ...(rate ? { overallRate: rate } : {}),
    headers: { authorization: `Bearer ${TOKEN}` },
    requests: [
      { setupRequest: (req) => ({ ...req, path: `/v1/data/key-${Math.floor(Math.random() * KEYS)}` }) },
    ],
  });
}

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const bare = fileURLToPath(new URL("./bare-server.ts", import.meta.url));
const results: Record<
  string,
  { max: number; p50: number; p99: number; fixedP50: number; fixedP99: number; errors: number }
> = {};

const bareMax: number[] = [];
// get-api runs twice: with the default Redis command timeout, and without one, so the bench shows
// what bounding every command costs.
const VARIANTS = { bare: undefined, "get-api": "2000", "no-timeout": "0" } as const;
for (const [name, commandTimeout] of Object.entries(VARIANTS)) {
  const port = await freePort();
  const child =
    commandTimeout === undefined
      ? await serve(["--no-warnings", bare, redisServer.url, String(port)], {}, port)
      : await serve(
          [main],
          {
            REDIS_URL: redisServer.url,
            PORT: String(port),
            HOST: "127.0.0.1",
            LOG_LEVEL: values["log-level"] as string,
            REDIS_COMMAND_TIMEOUT_MS: commandTimeout,
            API_TOKENS: JSON.stringify([
              {
                id: "bench",
                sha256: createHash("sha256").update(TOKEN).digest("hex"),
                scopes: ["data:read"],
                accounts: ["*"],
              },
            ]),
          },
          port,
        );
  await load(port); // warm-up
  const sat = await load(port);
  if (name === "bare") bareMax.push(sat.requests.average);
  const fixed = await load(port, Math.round((bareMax[0] ?? sat.requests.average) / 2));
  results[name] = {
    max: sat.requests.average,
    p50: sat.latency.p50,
    p99: sat.latency.p99,
    fixedP50: fixed.latency.p50,
    fixedP99: fixed.latency.p99,
    errors: sat.errors + sat.non2xx + fixed.errors + fixed.non2xx,
  };
  child.kill("SIGTERM");
}

const b = results.bare!;
const g = results["get-api"]!;
const n = results["no-timeout"]!;
const row = (name: string, r: typeof b) =>
  `${name.padEnd(10)} ${Math.round(r.max).toLocaleString("en").padStart(8)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms | at ${Math.round(bareMax[0]! / 2)} req/s: p50 ${r.fixedP50} ms  p99 ${r.fixedP99} ms  (errors+non-2xx: ${r.errors})`;
console.log(
  `get bench: ${KEYS} keys of ~1 KiB, 64 connections, ${SECONDS} s per run, get-api LOG_LEVEL=${values["log-level"]}`,
);
console.log(row("bare", b));
console.log(row("get-api", g));
console.log(row("no-timeout", n));
console.log(
  `\nget-api / bare at saturation: ${(g.max / b.max).toFixed(2)} (goal >= 0.85); get-api p99 at half the bare max: ${g.fixedP99} ms (goal <= 5 ms), ${n.fixedP99} ms without the Redis command timeout`,
);
await redisServer.dispose();
process.exit(0);
