import { randomBytes } from "node:crypto";
import { type Db, MongoClient } from "mongodb";
import { startTcpProxy } from "../proxy.ts";
import { type MongoTestServer, startMongoTestServer } from "./server.ts";

export { type MongoTestServer, startMongoTestServer } from "./server.ts";

/** A MongoDB for one test file: a real one from `MONGO_URL`, else the wire-protocol test server. */
export interface MongoInstance {
  /** The URL to connect to (through `outage`'s proxy). */
  readonly url: string;
  /** A database of this instance's own (dropped at the end). */
  readonly dbName: string;
  readonly client: MongoClient;
  readonly db: Db;
  /** Whether this is a real MongoDB from `MONGO_URL`. */
  readonly real: boolean;
  /** Cuts every connection and refuses new ones until `restore()`: MongoDB "goes down". */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a MongoDB for tests: `MONGO_URL` when set, else a new wire-protocol test server. */
export async function openMongo(mongoUrl = process.env.MONGO_URL): Promise<MongoInstance> {
  const real = Boolean(mongoUrl);
  let testServer: MongoTestServer | undefined;
  let target: URL;
  if (mongoUrl) target = new URL(mongoUrl);
  else {
    testServer = await startMongoTestServer();
    target = new URL(testServer.url);
  }
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 27017));
  const proxied = new URL(target.toString());
  proxied.hostname = "127.0.0.1";
  proxied.port = String(proxy.port);
  proxied.searchParams.set("directConnection", "true");
  const url = proxied.toString();
  const dbName = `gsk_test_${randomBytes(4).toString("hex")}`;
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  return {
    url,
    dbName,
    client,
    db: client.db(dbName),
    real,
    cut: () => proxy.cut(),
    restore: () => proxy.restore(),
    async close() {
      await proxy.restore();
      await client
        .db(dbName)
        .dropDatabase()
        .catch(() => {});
      await client.close();
      await proxy.cut();
      await testServer?.stop();
    },
  };
}

/**
 * Every stage of an explain's winning plan, outermost first (IXSCAN, FETCH, COLLSCAN, SORT...),
 * whether the plan is classic or, as MongoDB 7 may report it, nested under `queryPlan`.
 */
export function planStages(explain: unknown): string[] {
  const stages: string[] = [];
  const walk = (node: unknown) => {
    if (node === null || typeof node !== "object") return;
    const plan = node as {
      stage?: unknown;
      inputStage?: unknown;
      inputStages?: unknown[];
      queryPlan?: unknown;
    };
    if (typeof plan.stage === "string") stages.push(plan.stage);
    walk(plan.queryPlan);
    walk(plan.inputStage);
    for (const input of plan.inputStages ?? []) walk(input);
  };
  walk((explain as { queryPlanner?: { winningPlan?: unknown } }).queryPlanner?.winningPlan);
  return stages;
}
