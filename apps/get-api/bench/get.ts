// pnpm bench get [--keys N] [--seconds S] [--rounds R]: GET /v1/data/{key} of get-api (the built
// bundle: auth, ETag, metrics, request ids and logs on) against a bare node:http + node-redis server
// doing the same read, 1 KiB entries, random keys, 64 connections. Saturation is measured with wrk
// (C, one thread); latency at a fixed rate of half the bare maximum with hey. Each generator's CPU
// share is printed, so a saturated generator shows. In each round all servers are up and each
// measurement runs over them back to back; medians of the rounds, and of the rounds' ratios for p99.
// --tracing adds get-api with OpenTelemetry on (spans exported over OTLP to a receiver here that
// discards them), to show what tracing costs; off, get-api loads none of it.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis } from "@gsk/redis-store";
import { cpuSeconds, freePort, median, reapOnExit, startRedis } from "@gsk/testing/servers";
import { NODE_OPTIONS } from "../src/env.ts";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "100000" },
    seconds: { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    "log-level": { type: "string", default: "info" },
    "command-timeout": { type: "boolean", default: false },
    tracing: { type: "boolean", default: false },
  },
});
const KEYS = Number(values.keys);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const TOKEN = "bench-token-0123456789";

for (const tool of ["wrk", "hey"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) {
    console.error(`${tool} is not installed: apt-get install -y wrk hey (Debian packages)`);
    process.exit(2);
  }
}

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

const work = mkdtempSync(join(tmpdir(), "gsk-bench-"));
const script = join(work, "random-key.lua");
const batchScript = join(work, "batch.lua");
writeFileSync(
  batchScript,
  `math.randomseed(${Date.now() % 100000})
local headers = { ["Authorization"] = "Bearer ${TOKEN}", ["Content-Type"] = "application/json" }
request = function()
  local start = math.random(0, ${KEYS - 100})
  local keys = {}
  for i = 0, 99 do keys[#keys + 1] = '"key-' .. (start + i) .. '"' end
  return wrk.format("POST", "/v1/data/batch", headers, '{"webhookKeys":[' .. table.concat(keys, ",") .. ']}')
end
`,
);
writeFileSync(
  script,
  `math.randomseed(${Date.now() % 100000})
local headers = { ["Authorization"] = "Bearer ${TOKEN}" }
request = function()
  return wrk.format("GET", "/v1/data/key-" .. math.random(0, ${KEYS - 1}), headers)
end
`,
);

async function serve(command: string[], env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(command[0] as string, command.slice(1), {
    // Every server runs with get-api's deployed Node flags: the ratios compare code, not heaps.
    env: { PATH: process.env.PATH, NODE_OPTIONS, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  reapOnExit(child);
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/data/key-1`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      if (res.ok) return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server on ${port} did not start`);
}

/** Runs a load generator under bash, whose `times` gives its CPU seconds (user + system). */
function generator(command: string): { output: string; cpuShare: number } {
  const started = performance.now();
  const run = spawnSync("bash", ["-c", `${command}; times`], { encoding: "utf8" });
  const wall = (performance.now() - started) / 1000;
  const lines = run.stdout.trim().split("\n");
  const children = lines.at(-1) ?? "";
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (s, m) => s + Number(m[1]) * 60 + Number(m[2]),
    0,
  );
  return { output: run.stdout, cpuShare: cpu / wall };
}

const seconds = (text: string) => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1]) / (m[2] === "us" ? 1e6 : m[2] === "ms" ? 1e3 : 1);
};

function saturate(port: number) {
  const { output, cpuShare } = generator(
    `wrk -t1 -c64 -d${SECONDS}s --latency -s ${script} http://127.0.0.1:${port}`,
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const p99 = seconds(/\s99%\s+([\d.]+\w+)/.exec(output)?.[1] ?? "");
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  return { rps, p99, non2xx, cpuShare };
}

function batch(port: number) {
  const { output, cpuShare } = generator(
    `wrk -t1 -c16 -d${SECONDS}s -s ${batchScript} http://127.0.0.1:${port}`,
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(output);
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[transfer?.[2] ?? "B"] ?? 1;
  return { rps, bytes: Number(transfer?.[1]) * unit, cpuShare };
}

function fixedRate(port: number, rate: number) {
  // hey's -q is per worker: 64 workers share the rate. hey asks for one URL, so one key.
  const perWorker = Math.max(1, Math.round(rate / 64));
  const { output, cpuShare } = generator(
    `hey -z ${SECONDS}s -c 64 -q ${perWorker} -H "Authorization: Bearer ${TOKEN}" http://127.0.0.1:${port}/v1/data/key-${Math.floor(Math.random() * KEYS)}`,
  );
  const p99 = Number(/99% in ([\d.]+) secs/.exec(output)?.[1]);
  const p50 = Number(/50% in ([\d.]+) secs/.exec(output)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const non2xx = [...output.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)]
    .filter((m) => m[1] !== "200")
    .reduce((s, m) => s + Number(m[2]), 0);
  return { p50, p99, rps, non2xx, cpuShare };
}

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const bare = fileURLToPath(new URL("./bare-server.ts", import.meta.url));
const apiEnv = (port: number, commandTimeout: string) => ({
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
});
/** An OTLP/HTTP receiver that accepts and drops what it is sent (for the traced variant). */
async function otlpSink(): Promise<string> {
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "Content-Type": "application/json" }).end("{}"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}
const otlpEndpoint = values.tracing ? await otlpSink() : undefined;

const VARIANTS: [string, (port: number) => [string[], Record<string, string>]][] = [
  ["bare", (port) => [[process.execPath, "--no-warnings", bare, redisServer.url, String(port)], {}]],
  [
    "bare+len",
    (port) => [
      [process.execPath, "--no-warnings", bare, redisServer.url, String(port), "--content-length"],
      {},
    ],
  ],
  ["get-api", (port) => [[process.execPath, main], apiEnv(port, "2000")]],
  ...(values["command-timeout"]
    ? ([["no-timeout", (port: number) => [[process.execPath, main], apiEnv(port, "0")]]] as [
        string,
        (port: number) => [string[], Record<string, string>],
      ][])
    : []),
  ...(otlpEndpoint
    ? ([
        [
          "traced",
          (port: number) => [
            [process.execPath, main],
            { ...apiEnv(port, "2000"), OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint },
          ],
        ],
      ] as [string, (port: number) => [string[], Record<string, string>]][])
    : []),
];

type Sample = {
  rps: number;
  cpuPerRequest: number;
  p99: number;
  fixedP50: number;
  fixedP99: number;
  errors: number;
  wrkCpu: number;
  heyCpu: number;
  heyRps: number;
  batchRps: number;
  batchBytes: number;
};
const samples = new Map<string, Sample[]>();
let bareMax = 0;
for (let round = 0; round < ROUNDS; round++) {
  // Every server is up for the whole round and each measurement runs over them back to back, in an
  // order turned every round: a server is compared with the others at the same moment of the
  // machine (whose speed drifts by tens of percent within minutes), not minutes apart.
  const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as (typeof VARIANTS)[number]);
  const servers: { name: string; port: number; child: ChildProcess }[] = [];
  for (const [name, make] of order) {
    const port = await freePort();
    const [command, env] = make(port);
    servers.push({ name, port, child: await serve(command, env, port) });
  }
  const saturated = servers.map(({ name, port, child }) => {
    saturate(port); // warm-up
    const cpuBefore = cpuSeconds(child.pid);
    const sat = saturate(port);
    // The server's own CPU per request: steadier than requests/s on a machine whose load varies.
    const cpuPerRequest = (cpuSeconds(child.pid) - cpuBefore) / (sat.rps * SECONDS);
    if (name === "bare" && round === 0) bareMax = sat.rps;
    return { sat, cpuPerRequest };
  });
  const fixed = servers.map(({ port }) => fixedRate(port, bareMax / 2));
  const batched = servers.map(({ port }) => batch(port));
  servers.forEach(({ name }, i) => {
    const { sat, cpuPerRequest } = saturated[i] as (typeof saturated)[number];
    const f = fixed[i] as (typeof fixed)[number];
    const b = batched[i] as (typeof batched)[number];
    samples.set(name, [
      ...(samples.get(name) ?? []),
      {
        rps: sat.rps,
        cpuPerRequest,
        p99: sat.p99,
        fixedP50: f.p50,
        fixedP99: f.p99,
        errors: sat.non2xx + f.non2xx,
        wrkCpu: sat.cpuShare,
        heyCpu: f.cpuShare,
        heyRps: f.rps,
        batchRps: b.rps,
        batchBytes: b.bytes,
      },
    ]);
  });
  for (const { child } of servers) {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

const med = (name: string, key: keyof Sample) => median((samples.get(name) ?? []).map((s) => s[key]));
const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
console.log(
  `get bench: ${KEYS} keys of ~1 KiB, 64 connections, ${SECONDS} s per run, median of ${ROUNDS} interleaved rounds, get-api LOG_LEVEL=${values["log-level"]}, every server with NODE_OPTIONS=${NODE_OPTIONS}`,
);
console.log(`fixed rate: ${Math.round(bareMax / 2)} req/s (half the bare maximum of round 1)`);
for (const [name] of VARIANTS) {
  console.log(
    `${name.padEnd(10)} ${Math.round(med(name, "rps")).toLocaleString("en").padStart(7)} req/s, ${(med(name, "cpuPerRequest") * 1e6).toFixed(1)} µs server CPU per request, p99 ${ms(med(name, "p99"))} (wrk CPU ${(med(name, "wrkCpu") * 100).toFixed(0)}%)` +
      ` | fixed rate: ${Math.round(med(name, "heyRps")).toLocaleString("en")} req/s served, p50 ${ms(med(name, "fixedP50"))}, p99 ${ms(med(name, "fixedP99"))} (hey CPU ${(med(name, "heyCpu") * 100).toFixed(0)}%)` +
      `  errors+non-2xx: ${(samples.get(name) ?? []).reduce((s, x) => s + x.errors, 0)}`,
  );
}
for (const [name] of VARIANTS) {
  console.log(
    `${name.padEnd(10)} batch of 100 keys: ${Math.round(med(name, "batchRps")).toLocaleString("en")} req/s, ${(med(name, "batchBytes") / 1024 ** 2).toFixed(1)} MiB/s`,
  );
}
const ratio = med("get-api", "rps") / med("bare", "rps");
const lengthRatio = med("get-api", "rps") / med("bare+len", "rps");
/** Each round's ratio of two servers' figures, measured back to back: steadier than the machine's speed. */
const perRound = (key: keyof Sample, a: string, b: string) =>
  (samples.get(a) ?? []).map((s, i) => s[key] / (samples.get(b)?.[i]?.[key] ?? Number.NaN));
const list = (xs: number[]) => xs.map((r) => r.toFixed(2)).join(", ");
const cpuRatio = med("bare", "cpuPerRequest") / med("get-api", "cpuPerRequest");
const p99Ratios = perRound("fixedP99", "get-api", "bare");
// bare+len differs from bare only by its framing: how far apart two near-equal servers' p99s land.
const p99Spread = perRound("fixedP99", "bare+len", "bare");
console.log(
  `\nget-api / bare at saturation: ${ratio.toFixed(2)} (goal >= 0.85; each round: ${list(perRound("rps", "get-api", "bare"))}), by server CPU per request ${cpuRatio.toFixed(2)}; against bare+len (bare sending Content-Length, as get-api does) ${lengthRatio.toFixed(2)}`,
);
console.log(
  `p99 at the fixed rate, get-api / bare: ${median(p99Ratios).toFixed(2)} (goal <= 1.25; median of the rounds' ratios: ${list(p99Ratios)}); bare+len / bare, the measurement's own spread: ${median(p99Spread).toFixed(2)} (${list(p99Spread)})`,
);
console.log(`batch bytes/s: ${(med("get-api", "batchBytes") / med("bare", "batchBytes")).toFixed(2)} x bare`);
if (otlpEndpoint) {
  console.log(
    `tracing on / off: ${(med("traced", "rps") / med("get-api", "rps")).toFixed(2)} of the requests/s; p99 at the fixed rate ${(med("traced", "fixedP99") / med("get-api", "fixedP99")).toFixed(2)} x`,
  );
}
await redisServer.dispose();
process.exit(0);
