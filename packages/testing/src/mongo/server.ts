import { createServer, type Server, type Socket } from "node:net";
import { type Document, ObjectId } from "bson";
import { Engine } from "./engine.ts";
import { CommandError } from "./errors.ts";
import { encodeLegacyReply, encodeMsgReply, MORE_TO_COME, OP_MSG, OP_QUERY, parseMessage } from "./wire.ts";

/** The in-memory MongoDB wire-protocol test server. Data survives `stop()` / `start()`. */
export interface MongoTestServer {
  readonly port: number;
  /** A `mongodb://` URL for the official driver. */
  readonly url: string;
  readonly engine: Engine;
  /** Closes the listener and every connection (like a crash); the data is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  readonly running: boolean;
}

export interface MongoTestServerOptions {
  port?: number;
  /** How often the TTL monitor removes expired documents (mongod: 60 s). */
  ttlMonitorIntervalMs?: number;
}

const MAX_MESSAGE = 48_000_000;

function hello(connectionId: number): Document {
  return {
    helloOk: true,
    ismaster: true,
    isWritablePrimary: true,
    topologyVersion: { processId: PROCESS_ID, counter: 0 },
    maxBsonObjectSize: 16 * 1024 * 1024,
    maxMessageSizeBytes: MAX_MESSAGE,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: 30,
    connectionId,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ok: 1,
  };
}

const PROCESS_ID = new ObjectId();

function errorReply(error: unknown): Document {
  if (error instanceof CommandError) {
    return { ok: 0, errmsg: error.message, code: error.code, codeName: error.codeName, ...error.extra };
  }
  return { ok: 0, errmsg: `internal error: ${(error as Error).message}`, code: 1, codeName: "InternalError" };
}

/** Starts the server on 127.0.0.1 (a free port unless `port` is given). */
export async function startMongoTestServer(options: MongoTestServerOptions = {}): Promise<MongoTestServer> {
  const engine = new Engine();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = options.port ?? 0;
  let connections = 0;
  let replyId = 1;

  const handle = (socket: Socket, msg: Buffer, connectionId: number) => {
    const request = parseMessage(msg);
    const isHello = (body: Document) => "hello" in body || "isMaster" in body || "ismaster" in body;
    if (request.opCode === OP_QUERY) {
      const reply = isHello(request.body)
        ? hello(connectionId)
        : errorReply(new CommandError(352, "UnsupportedOpQueryCommand", "Unsupported OP_QUERY command"));
      socket.write(encodeLegacyReply(replyId++, request.requestId, reply));
      return;
    }
    if (request.opCode !== OP_MSG) {
      socket.destroy();
      return;
    }
    const db = String(request.body.$db ?? "admin");
    let reply: Document;
    try {
      reply = isHello(request.body) ? hello(connectionId) : engine.run(db, request.body);
    } catch (error) {
      reply = errorReply(error);
    }
    if (!(request.flags & MORE_TO_COME)) socket.write(encodeMsgReply(replyId++, request.requestId, reply));
  };

  const onConnection = (socket: Socket) => {
    const connectionId = ++connections;
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const size = pending.readInt32LE(0);
        if (size < 16 || size > MAX_MESSAGE) {
          socket.destroy();
          return;
        }
        if (pending.length < size) break;
        const msg = pending.subarray(0, size);
        pending = pending.subarray(size);
        try {
          handle(socket, msg, connectionId);
        } catch {
          socket.destroy();
          return;
        }
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(onConnection);
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        const address = s.address();
        if (typeof address === "object" && address) port = address.port;
        server = s;
        resolve();
      });
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (!s) return resolve();
      s.close(() => resolve());
    });

  const monitor = setInterval(() => engine.expire(), options.ttlMonitorIntervalMs ?? 60_000);
  monitor.unref();

  await start();
  return {
    get port() {
      return port;
    },
    get url() {
      return `mongodb://127.0.0.1:${port}/?directConnection=true`;
    },
    engine,
    stop,
    start,
    get running() {
      return server !== undefined;
    },
  };
}
