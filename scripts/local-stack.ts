// Starts (or stops) the local stack in the background: redis-server, the fauxqs SQS emulator with
// the ingest queue and its DLQ, MongoDB (the test server unless MONGO_URL is set), and the apps. Idempotent: what already runs is kept.
// Usage: node scripts/local-stack.ts up|down|status
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { createQueueWithDlq, sqsClient } from "@gsk/testing/servers";

const ROOT = resolve(import.meta.dirname, "..");
const STATE = join(ROOT, ".gsk");

interface Service {
  name: string;
  port: number;
  command: string[];
  env?: Record<string, string>;
}

const REDIS_PORT = 6380;
const SQS_PORT = 4566;
const MONGO_PORT = 27018;
const MONGO_URL = process.env.MONGO_URL ?? `mongodb://127.0.0.1:${MONGO_PORT}/?directConnection=true`;

const script = (path: string, port: number) => [
  process.execPath,
  "--no-warnings",
  join(ROOT, path),
  String(port),
];

const services: Service[] = [
  {
    name: "redis",
    port: REDIS_PORT,
    command: [
      "redis-server",
      "--port",
      String(REDIS_PORT),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--dir",
      STATE,
    ],
  },
  { name: "sqs", port: SQS_PORT, command: script("packages/testing/src/sqs/fauxqs-server.ts", SQS_PORT) },
  ...(process.env.MONGO_URL
    ? []
    : [
        { name: "mongo", port: MONGO_PORT, command: script("packages/testing/src/mongo/cli.ts", MONGO_PORT) },
      ]),
];

function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

async function waitListening(service: Service): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await listening(service.port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `${service.name} did not start on port ${service.port}; see ${join(STATE, `${service.name}.log`)}`,
  );
}

const pidFile = (name: string) => join(STATE, `${name}.pid`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function up(service: Service): Promise<string> {
  if (await listening(service.port)) return "already running";
  const log = openSync(join(STATE, `${service.name}.log`), "a");
  const [cmd, ...args] = service.command as [string, ...string[]];
  const child = spawn(cmd, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, ...service.env },
  });
  closeSync(log);
  child.unref();
  writeFileSync(pidFile(service.name), String(child.pid));
  await waitListening(service);
  return "started";
}

function down(service: Service): string {
  const file = pidFile(service.name);
  if (!existsSync(file)) return "not started by this script";
  const pid = Number(readFileSync(file, "utf8"));
  rmSync(file);
  if (!alive(pid)) return "was not running";
  process.kill(pid, "SIGTERM");
  return "stopped";
}

const QUEUE = "gsk-ingest";

async function main(action: string) {
  mkdirSync(STATE, { recursive: true });
  if (action === "down") {
    for (const service of [...services].reverse()) console.log(`${service.name}: ${down(service)}`);
    return;
  }
  if (action === "status") {
    for (const service of services) {
      console.log(
        `${service.name}: ${(await listening(service.port)) ? "up" : "down"} on 127.0.0.1:${service.port}`,
      );
    }
    return;
  }
  if (action !== "up") throw new Error(`unknown action ${JSON.stringify(action)}; use up, down or status`);
  for (const service of services)
    console.log(`${service.name}: ${await up(service)} on 127.0.0.1:${service.port}`);

  const endpoint = `http://127.0.0.1:${SQS_PORT}`;
  const client = sqsClient(endpoint);
  const { queueUrl, dlqUrl } = await createQueueWithDlq(client, QUEUE, {
    maxReceiveCount: 5,
    visibilityTimeout: 30,
  });
  client.destroy();
  console.log(`
The local stack is up (logs and pid files in .gsk/; stop it with ./scripts/dev.sh down).
  REDIS_URL=redis://127.0.0.1:${REDIS_PORT}
  SQS_ENDPOINT=${endpoint}
  SQS_QUEUE_URL=${queueUrl}
  SQS_DLQ_URL=${dlqUrl}
  MONGO_URL=${MONGO_URL}${process.env.MONGO_URL ? "" : " (the in-memory MongoDB test server; set MONGO_URL to use a real one)"}
  AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`);
}

await main(process.argv[2] ?? "up");
