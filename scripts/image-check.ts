// Builds each app's image root with scripts/image-root.sh (what the Dockerfile's build stage runs)
// and starts the app from that directory alone, with Node 24 and real Redis, SQS (fauxqs) and
// MongoDB (MONGO_URL, or the test server), until /readyz answers 200; then stops it with SIGTERM.
// Run by ./scripts/check.sh after the tests; one app at a time (each build takes the two cores).
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  createQueueWithDlq,
  exited,
  freePort,
  openMongo,
  reapOnExit,
  startRedis,
  startSqs,
  waitFor,
} from "@gsk/testing/servers";

const ROOT = resolve(import.meta.dirname, "..");
const APPS = ["ingest-worker", "get-api", "archiver"] as const;

function log(message: string): void {
  process.stderr.write(`image-check: ${message}\n`);
}

/** Throws unless the image root holds only what the runtime image should: dist and production dependencies. */
function checkContents(app: string, dir: string): void {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    bin?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const entries = readdirSync(dir).filter(
    (name) => !["package.json", "README.md", "node_modules", "dist"].includes(name),
  );
  if (entries.length > 0)
    throw new Error(`${app}: unexpected files in the image root: ${entries.join(", ")}`);
  for (const dev of ["vitest", "typescript", "tsdown", "@gsk/testing", "fast-check"]) {
    if (existsSync(join(dir, "node_modules", dev)))
      throw new Error(`${app}: ships the dev dependency ${dev}`);
  }
  const bins = Object.entries(manifest.bin ?? {});
  if (!bins.some(([name]) => name === app)) throw new Error(`${app}: no "${app}" bin`);
  for (const [name, path] of bins) {
    const file = join(dir, path);
    if (!statSync(file).isFile() || !readFileSync(file, "utf8").startsWith("#!/usr/bin/env node")) {
      throw new Error(`${app}: bin ${name} (${path}) is not a node script with a shebang`);
    }
  }
}

const token = "image-check-token";
const redis = await startRedis();
const sqs = await startSqs();
const mongo = await openMongo();
const queues = await createQueueWithDlq(sqs.client(), `image-check-${Date.now()}`);
const envs: Record<(typeof APPS)[number], Record<string, string>> = {
  "ingest-worker": { SQS_QUEUE_URL: queues.queueUrl, SQS_DLQ_URL: queues.dlqUrl },
  "get-api": { INGRESS_ENABLED: "true", SQS_QUEUE_URL: queues.queueUrl },
  archiver: { MONGO_URL: mongo.url, MONGO_DB: mongo.dbName },
};
const apiTokens = JSON.stringify([
  {
    id: "image-check",
    sha256: createHash("sha256").update(token).digest("hex"),
    scopes: ["data:read"],
    accounts: ["*"],
  },
]);

let failed = false;
const out = mkdtempSync(join(tmpdir(), "gsk-image-"));
try {
  for (const app of APPS) {
    const started = Date.now();
    const dir = join(out, app);
    execFileSync("bash", [join(ROOT, "scripts", "image-root.sh"), app, dir], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    checkContents(app, dir);
    const port = await freePort();
    const child = spawn(process.execPath, [join(dir, "dist", "main.js")], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        PORT: String(port),
        LOG_LEVEL: "warn",
        REDIS_URL: redis.url,
        SQS_ENDPOINT: sqs.endpoint,
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        ...(app === "ingest-worker" ? {} : { API_TOKENS: apiTokens }),
        ...envs[app],
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    reapOnExit(child);
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
        `${app} /readyz`,
        30_000,
        100,
      );
      child.kill("SIGTERM");
      await exited(child);
      if (child.exitCode !== 0) throw new Error(`${app}: exit code ${child.exitCode} after SIGTERM`);
      log(
        `${app}: image root built, ready and stopped cleanly (${Math.round((Date.now() - started) / 1000)} s)`,
      );
    } finally {
      child.kill("SIGKILL");
    }
  }
} catch (error) {
  failed = true;
  log(`FAILED: ${(error as Error).message}`);
} finally {
  rmSync(out, { recursive: true, force: true });
  await mongo.close();
  await sqs.stop();
  await redis.dispose();
}
process.exit(failed ? 1 : 0);
