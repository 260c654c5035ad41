// Starts (or stops) the local stack in the background: redis-server, the fauxqs SQS emulator with
// the ingest queue and its DLQ, MongoDB (the test server unless MONGO_URL is set), and the built
// apps. Idempotent: whatever already listens on its port is kept.
// Usage: node scripts/local-stack.ts up|down|status
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
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

const PORTS = { redis: 6380, sqs: 4566, mongo: 27018, api: 3000, worker: 3001, archiver: 3002 };
const MONGO_URL = process.env.MONGO_URL ?? `mongodb://127.0.0.1:${PORTS.mongo}/?directConnection=true`;
const SQS_ENDPOINT = `http://127.0.0.1:${PORTS.sqs}`;
const QUEUE = "gsk-ingest";
const AWS = { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };

const infrastructure: Service[] = [
  {
    name: "redis",
    port: PORTS.redis,
    command: [
      "redis-server",
      "--port",
      String(PORTS.redis),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--dir",
      STATE,
    ],
  },
  {
    name: "sqs",
    port: PORTS.sqs,
    command: [join(ROOT, "node_modules/.bin/gsk-fauxqs"), String(PORTS.sqs)],
  },
  ...(process.env.MONGO_URL
    ? []
    : [
        {
          name: "mongo",
          port: PORTS.mongo,
          command: [join(ROOT, "node_modules/.bin/gsk-mongo-test-server"), String(PORTS.mongo)],
        },
      ]),
];

/** The dev token (made once, kept in .gsk/dev-token) with every scope on every account. */
export function devToken(): string {
  const file = join(STATE, "dev-token");
  if (!existsSync(file)) writeFileSync(file, `gsk-dev-${randomBytes(16).toString("hex")}\n`, { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/** The local queue URLs fauxqs gives the stack's queues. */
export const LOCAL_QUEUES = {
  queueUrl: `http://sqs.us-east-1.localhost:${PORTS.sqs}/000000000000/${QUEUE}`,
  dlqUrl: `http://sqs.us-east-1.localhost:${PORTS.sqs}/000000000000/${QUEUE}-dlq`,
};
export { PORTS, SQS_ENDPOINT };

/** The apps of the local stack, each with the environment it runs (and its CLI is run) with. */
export function apps(queueUrl: string, dlqUrl: string, token: string): Service[] {
  const common = {
    ...AWS,
    REDIS_URL: `redis://127.0.0.1:${PORTS.redis}`,
    SQS_ENDPOINT,
    SQS_QUEUE_URL: queueUrl,
    HOST: "127.0.0.1",
    API_TOKENS: JSON.stringify([
      {
        id: "dev",
        sha256: createHash("sha256").update(token).digest("hex"),
        scopes: ["data:read", "data:write", "data:delete", "ttl:admin", "archive:admin"],
        accounts: ["*"],
      },
    ]),
  };
  const built = (app: string) => join(ROOT, "apps", app, "dist/main.js");
  return [
    {
      name: "ingest-worker",
      port: PORTS.worker,
      command: [process.execPath, built("ingest-worker")],
      env: { ...common, SQS_DLQ_URL: dlqUrl, PORT: String(PORTS.worker) },
    },
    {
      name: "archiver",
      port: PORTS.archiver,
      command: [process.execPath, built("archiver")],
      env: { ...common, PORT: String(PORTS.archiver), MONGO_URL },
    },
    {
      name: "get-api",
      port: PORTS.api,
      command: [process.execPath, built("get-api")],
      env: { ...common, PORT: String(PORTS.api), INGRESS_ENABLED: "true", MONGO_URL },
    },
  ].filter((s) => existsSync(s.command[1] as string));
}

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

const pidFile = (name: string) => join(STATE, `${name}.pid`);

async function up(service: Service): Promise<string> {
  if (await listening(service.port)) return "already running";
  const logFile = join(STATE, `${service.name}.log`);
  const log = openSync(logFile, "a");
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
  for (let i = 0; i < 200; i++) {
    if (await listening(service.port)) return "started";
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${service.name} did not start on port ${service.port}; see ${logFile}`);
}

function down(service: Service): string {
  const file = pidFile(service.name);
  if (!existsSync(file)) return "not started by this script";
  const pid = Number(readFileSync(file, "utf8"));
  rmSync(file);
  try {
    // The whole process group (each service was started detached, so it leads one): a bin shim
    // (gsk-fauxqs, gsk-mongo-test-server, pnpm's node) runs the server as its child, and SIGTERM to
    // the shim alone left that child running, holding its port.
    process.kill(-pid, "SIGTERM");
    return "stopped";
  } catch {
    return "was not running";
  }
}

async function main(action: string) {
  mkdirSync(STATE, { recursive: true });
  const token = devToken();
  const all = [...infrastructure, ...apps(LOCAL_QUEUES.queueUrl, LOCAL_QUEUES.dlqUrl, token)];
  if (action === "down") {
    for (const service of [...all].reverse()) console.log(`${service.name}: ${down(service)}`);
    return;
  }
  if (action === "status") {
    for (const s of all)
      console.log(`${s.name}: ${(await listening(s.port)) ? "up" : "down"} on 127.0.0.1:${s.port}`);
    return;
  }
  if (action !== "up") throw new Error(`unknown action ${JSON.stringify(action)}; use up, down or status`);
  for (const s of infrastructure) console.log(`${s.name}: ${await up(s)} on 127.0.0.1:${s.port}`);
  const client = sqsClient(SQS_ENDPOINT);
  const queues = await createQueueWithDlq(client, QUEUE, { maxReceiveCount: 5, visibilityTimeout: 30 });
  client.destroy();
  for (const s of apps(queues.queueUrl, queues.dlqUrl, token)) {
    console.log(`${s.name}: ${await up(s)} on 127.0.0.1:${s.port}`);
  }
  console.log(`
The local stack is up (logs and pid files in .gsk/; stop it with ./scripts/dev.sh down).
  REDIS_URL=redis://127.0.0.1:${PORTS.redis}
  SQS_ENDPOINT=${SQS_ENDPOINT}
  SQS_QUEUE_URL=${queues.queueUrl}
  SQS_DLQ_URL=${queues.dlqUrl}
  MONGO_URL=${MONGO_URL}${process.env.MONGO_URL ? "" : " (the in-memory MongoDB test server; set MONGO_URL to use a real one)"}
  AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  get-api:       http://127.0.0.1:${PORTS.api} (docs at /docs), gateway mode on
  ingest-worker: http://127.0.0.1:${PORTS.worker}/healthz
  archiver:      bull-board at http://127.0.0.1:${PORTS.archiver}/admin/queues (any user, the dev token as password)
  dev token (every scope; kept in .gsk/dev-token): ${token}${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? `\n  traces: OTLP to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}` : ""}
Try it: node_modules/.bin/node scripts/demo.ts`);
}

if (import.meta.main) await main(process.argv[2] ?? "up");
