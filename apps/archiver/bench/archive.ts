// pnpm bench archive [--keys 1000000] [--scan-count 1000] [--rounds 3]: keys/s and peak RSS of
// (1) a raw SCAN + pipelined read loop (HMGET + PEXPIRETIME per key, nothing else: the baseline),
// (2) the archiver's read side alone (reads, transforms, batches, writes nothing) and (3) a full
// run into MongoDB (MONGO_URL, else the test server), each in its own process; (1) and (2) in
// interleaved rounds (medians of keys/s, the highest peak RSS), and once at a tenth of the keys,
// to show RSS does not grow with the key count. Every process runs with the archiver's deployed
// NODE_OPTIONS (its young generation's size), so that RSS is the deployment's, not this host's.
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, createRedis } from "@gsk/redis-store";
import { freePort, median, reapOnExit, startRedis } from "@gsk/testing/servers";
import { NODE_OPTIONS } from "../src/env.ts";

const { values } = parseArgs({
  options: {
    keys: { type: "string", default: "1000000" },
    "scan-count": { type: "string", default: "1000" },
    rounds: { type: "string", default: "3" },
  },
});
const KEYS = Number(values.keys);
const SCAN = values["scan-count"] as string;
const ROUNDS = Number(values.rounds);
const MODE = fileURLToPath(new URL("./archive-mode.ts", import.meta.url));

const redisServer = await startRedis();
const handle = createRedis({ urls: [redisServer.url], cluster: false }, () => {});
await handle.client.connect();
const store = createEntryStore(handle, redisKeys("gsk"));
const data = JSON.stringify({ pad: "x".repeat(760), n: 1 });
let filled = 0;
async function fillTo(n: number) {
  const t0 = performance.now();
  while (filled < n) {
    const base = filled;
    const size = Math.min(2000, n - filled);
    await Promise.all(
      Array.from({ length: size }, (_, j) =>
        store.write({
          meta: {
            webhookKey: `key-${base + j}`,
            accountId: "bench",
            flowId: "flow",
            eventId: `e-${base + j}`,
            producedAt: Date.now() - 60_000,
            storedAt: Date.now() - 59_900,
            expiresAt: Date.now() + 365 * 86_400_000,
          },
          dataJson: data,
        }),
      ),
    );
    filled += size;
  }
  console.error(`filled ${n} entries of ~1 KiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

let mongoUrl = process.env.MONGO_URL;
let stopMongo = () => {};
if (!mongoUrl) {
  const port = await freePort();
  // @gsk/testing's bin, run by this Node (the bin's shim takes `node` from PATH).
  const child = spawn(
    join(import.meta.dirname, "..", "node_modules", ".bin", "gsk-mongo-test-server"),
    [String(port)],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
    },
  );
  reapOnExit(child);
  await new Promise((resolve) => child.stdout.once("data", resolve));
  mongoUrl = `mongodb://127.0.0.1:${port}/?directConnection=true`;
  stopMongo = () => child.kill("SIGKILL");
}

interface Result {
  mode: string;
  keys: number;
  keysPerSecond: number;
  seconds: number;
  peakRssMiB: number;
}
const measure = (mode: string): Result => {
  const out = spawnSync(
    process.execPath,
    ["--no-warnings", MODE, mode, redisServer.url, mongoUrl as string, SCAN],
    { encoding: "utf8", env: { ...process.env, NODE_OPTIONS } },
  );
  if (out.status !== 0) throw new Error(`${mode} failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split("\n").at(-1) as string) as Result;
};
const line = (r: Result) =>
  `${r.mode.padEnd(5)} ${String(r.keys).padStart(8)} keys  ${r.keysPerSecond.toLocaleString("en").padStart(8)} keys/s  ${String(r.seconds).padStart(6)} s  peak RSS ${r.peakRssMiB} MiB`;

console.error(
  `each measurement in its own process, NODE_OPTIONS=${NODE_OPTIONS} (the archiver's Deployment's)`,
);
const small = Math.max(1000, Math.round(KEYS / 10));
await fillTo(small);
const rawSmall = measure("raw");
const readSmall = measure("read");
console.log(line(rawSmall));
console.log(line(readSmall));
await fillTo(KEYS);
const rounds: { raw: Result; read: Result }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const r = { raw: measure("raw"), read: measure("read") };
  console.log(line(r.raw));
  console.log(line(r.read));
  rounds.push(r);
}
const summary = (mode: "raw" | "read"): Result => ({
  mode: `${mode}*`,
  keys: KEYS,
  keysPerSecond: median(rounds.map((r) => r[mode].keysPerSecond)),
  seconds: median(rounds.map((r) => r[mode].seconds)),
  peakRssMiB: Math.max(...rounds.map((r) => r[mode].peakRssMiB)),
});
const [raw, read] = [summary("raw"), summary("read")];
console.log(`* medians of ${ROUNDS} rounds (peak RSS: the highest)`);
console.log(line(raw));
console.log(line(read));
const full = measure("full");
console.log(line(full));
console.log(
  `\nread side / raw loop: ${(read.keysPerSecond / raw.keysPerSecond).toFixed(2)} (goal >= 0.80; each round: ${rounds.map((r) => (r.read.keysPerSecond / r.raw.keysPerSecond).toFixed(2)).join(", ")}); read-side peak RSS ${read.peakRssMiB} MiB at ${KEYS} keys vs ${readSmall.peakRssMiB} MiB at ${small} (goal < 300 MiB, not growing); full run ${full.keysPerSecond.toLocaleString("en")} keys/s into ${process.env.MONGO_URL ? "MONGO_URL" : "the MongoDB test server"}`,
);
handle.client.destroy();
stopMongo();
await redisServer.dispose();
process.exit(0);
