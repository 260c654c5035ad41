import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { type Db, MongoClient } from "mongodb";
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

/** A TCP proxy on 127.0.0.1 that can be cut and restored, to simulate an outage of any server. */
async function startProxy(targetHost: string, targetPort: number) {
  const sockets = new Set<Socket>();
  let port = 0;
  let server: Server | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, targetHost);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", end).on("close", end);
        upstream.on("error", end).on("close", end);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    async cut() {
      const s = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (s) await new Promise((r) => s.close(r));
    },
    restore: async () => {
      if (!server) await listen();
    },
  };
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
  const proxy = await startProxy(target.hostname, Number(target.port || 27017));
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
