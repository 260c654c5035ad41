import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { promisify } from "node:util";
import { exited, freePort, reapOnExit, waitFor } from "./processes.ts";
import { startTcpProxy, type TcpProxy } from "./proxy.ts";
import { makeTestCertificates, type TestCertificates } from "./tls.ts";

const run = promisify(execFile);

/** A `redis-server` process on 127.0.0.1 that a test can stop and start again on the same port. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The running server's process id (to read its CPU time); undefined while stopped. */
  readonly pid: number | undefined;
  /** Sends a command through `redis-cli` (handy for FLUSHALL, DEBUG and the like). */
  cli(...args: string[]): Promise<string>;
  /** Stops the server (SIGKILL: no save, like a crash); `start()` brings it back empty. */
  stop(): Promise<void>;
  start(): Promise<void>;
  readonly running: boolean;
  /** Sends a signal to the server process (SIGSTOP/SIGCONT to stall it, SIGKILL to crash it). */
  signal(signal: NodeJS.Signals): void;
  /** Stops the server for good and removes its directory. */
  dispose(): Promise<void>;
}

export interface RedisServerOptions {
  port?: number;
  /** Extra `redis-server` arguments, e.g. `["--cluster-enabled", "yes"]`. */
  args?: string[];
  /** Keep data across `stop()`/`start()` (AOF, fsync on every write), so an outage loses nothing. */
  persistent?: boolean;
  /** Like a managed Redis: a password (`requirepass`), and TLS only (no plain port) when certificates are given. */
  secure?: SecureRedisOptions;
}

export interface SecureRedisOptions {
  password: string;
  tls?: TestCertificates;
}

/** The server arguments of `secure`: a password for clients and for the other nodes, TLS everywhere. */
function secureArgs(port: number, secure: SecureRedisOptions | undefined): string[] {
  if (!secure) return ["--port", String(port)];
  const auth = ["--requirepass", secure.password, "--masterauth", secure.password];
  if (!secure.tls) return ["--port", String(port), ...auth];
  const { cert, key, ca } = secure.tls;
  return [
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--tls-cert-file",
    cert,
    "--tls-key-file",
    key,
    "--tls-ca-cert-file",
    ca,
    "--tls-auth-clients",
    "no",
    "--tls-cluster",
    "yes",
    "--tls-replication",
    "yes",
    ...auth,
  ];
}

/** redis-cli's arguments to reach a `secure` server. */
function cliArgs(secure: SecureRedisOptions | undefined): string[] {
  if (!secure) return [];
  const auth = ["-a", secure.password, "--no-auth-warning"];
  return secure.tls ? ["--tls", "--cacert", secure.tls.ca, ...auth] : auth;
}

/** The URL clients are given: `rediss://default:<password>@…` when secure with TLS. */
function serverUrl(port: number, secure: SecureRedisOptions | undefined): string {
  if (!secure) return `redis://127.0.0.1:${port}`;
  const scheme = secure.tls ? "rediss" : "redis";
  return `${scheme}://default:${encodeURIComponent(secure.password)}@127.0.0.1:${port}`;
}

/** Starts `redis-server` on a free port (never 6379), without persistence, bound to 127.0.0.1. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), "gsk-redis-"));
  let child: ChildProcess | undefined;

  const cli = async (...args: string[]) => {
    const { stdout } = await run("redis-cli", [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      ...cliArgs(options.secure),
      ...args,
    ]);
    return stdout.trim();
  };

  const start = async () => {
    const proc = spawn(
      "redis-server",
      [
        ...secureArgs(port, options.secure),
        "--bind",
        "127.0.0.1",
        "--protected-mode",
        "no",
        "--save",
        "",
        ...(options.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
        "--dir",
        dir,
        "--loglevel",
        "warning",
        ...(options.args ?? []),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    reapOnExit(proc);
    child = proc;
    let stderr = "";
    proc.stderr?.on("data", (d) => {
      stderr += d;
    });
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${stderr}`);
      return (await cli("PING")) === "PONG";
    }, `redis-server on port ${port}`);
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc) return;
    proc.kill("SIGKILL");
    await exited(proc);
  };

  await start();
  return {
    port,
    url: serverUrl(port, options.secure),
    cli,
    start,
    stop,
    get running() {
      return child !== undefined;
    },
    get pid() {
      return child?.pid;
    },
    signal(signal) {
      child?.kill(signal);
    },
    async dispose() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A Redis Cluster of three masters (no replicas) on 127.0.0.1, created with `redis-cli --cluster create`. */
export interface RedisCluster {
  readonly nodes: RedisServer[];
  /** The node URLs, as `REDIS_URL` takes them with `REDIS_CLUSTER=true`. */
  readonly urls: string[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3, secure?: SecureRedisOptions): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < masters; i++) {
    const busPort = await freePort();
    const port = await freePort();
    nodes.push(
      await startRedis({
        port,
        args: [
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(busPort),
          "--cluster-config-file",
          `nodes-${port}.conf`,
          "--cluster-node-timeout",
          "2000",
        ],
        secure,
      }),
    );
  }
  await run("redis-cli", [
    ...cliArgs(secure),
    "--cluster",
    "create",
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    "--cluster-replicas",
    "0",
    "--cluster-yes",
  ]);
  for (const node of nodes) {
    await waitFor(
      async () => (await node.cli("CLUSTER", "INFO")).includes("cluster_state:ok"),
      "cluster_state:ok",
    );
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    async stop() {
      await Promise.all(nodes.map((n) => n.dispose()));
    },
  };
}

/**
 * A primary with one replica, reached through one address (a proxy), like a managed endpoint. The
 * replica replicates through a link of its own, so a test can partition it from the primary.
 */
export interface ReplicatedRedis {
  readonly primary: RedisServer;
  readonly replica: RedisServer;
  readonly proxy: TcpProxy;
  /** The proxy's URL: what the apps are given. */
  readonly url: string;
  /** Stops the replication stream without closing it: the replica lags, the primary does not know. */
  partitionReplica(): void;
  /** Kills the primary, drops what the replication link held, promotes the replica, moves the address. */
  failover(): Promise<void>;
  dispose(): Promise<void>;
}

/** A primary starts a replica's first sync at once (Redis waits 5 s for more replicas by default). */
const PRIMARY_ARGS = ["--repl-diskless-sync-delay", "0"];

export async function startReplicatedRedis(): Promise<ReplicatedRedis> {
  const primary = await startRedis({ args: PRIMARY_ARGS });
  const link = await startTcpProxy("127.0.0.1", primary.port);
  const replica = await startReplicaOf(primary, link.port);
  const proxy = await startTcpProxy("127.0.0.1", primary.port);
  return {
    primary,
    replica,
    proxy,
    url: `redis://127.0.0.1:${proxy.port}`,
    partitionReplica: () => link.freeze(),
    async failover() {
      await primary.stop();
      await link.cut();
      await replica.cli("REPLICAOF", "NO", "ONE");
      proxy.switchTo(replica.port);
    },
    async dispose() {
      await Promise.all([proxy.cut(), link.cut()]);
      await Promise.all([primary.dispose(), replica.dispose()]);
    },
  };
}

/**
 * A primary with one replica replicating from it directly, as a managed Redis's are: for
 * benchmarks, where the fault-injecting proxies of `startReplicatedRedis` would put the whole
 * replication stream through the measuring process's event loop.
 */
export async function startRedisWithReplica(): Promise<{
  primary: RedisServer;
  replica: RedisServer;
  dispose(): Promise<void>;
}> {
  const primary = await startRedis({ args: PRIMARY_ARGS });
  const replica = await startReplicaOf(primary, primary.port);
  return {
    primary,
    replica,
    async dispose() {
      await Promise.all([primary.dispose(), replica.dispose()]);
    },
  };
}

/** A Redis replicating from `primary` through `port` (the primary's, or a proxy's), once in sync. */
async function startReplicaOf(primary: RedisServer, port: number): Promise<RedisServer> {
  const replica = await startRedis({
    args: ["--replicaof", "127.0.0.1", String(port), "--repl-ping-replica-period", "1"],
  });
  await waitFor(
    async () => (await replica.cli("INFO", "replication")).includes("master_link_status:up"),
    "replica in sync",
  );
  await waitFor(
    async () => (await primary.cli("INFO", "replication")).includes("connected_slaves:1"),
    "primary sees its replica",
  );
  return replica;
}

/** A Redis with a password and TLS, as a managed Redis is (ElastiCache, MemoryDB), single or a cluster. */
export interface SecureRedis {
  /** What `REDIS_URL` takes (`rediss://default:<password>@…`, one per node for a cluster). */
  readonly urls: string[];
  readonly cluster: boolean;
  /** The test CA's certificate file, for NODE_EXTRA_CA_CERTS of app processes. */
  readonly ca: string;
  /** FLUSHALL on every node. */
  flushAll(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a Redis (one node, or a cluster of three masters) that takes only TLS connections and
 * a password with characters URLs must escape, with certificates made by `openssl`; this process
 * trusts their CA from now on (`tls.setDefaultCACertificates`), so in-process clients connect.
 */
export async function startSecureRedis(kind: "single" | "cluster"): Promise<SecureRedis> {
  const certificates = await makeTestCertificates();
  const secure = { password: "p@ss:w/rd", tls: certificates };
  setDefaultCACertificates([...getCACertificates("default"), await readFile(certificates.ca, "utf8")]);
  const nodes =
    kind === "cluster" ? (await startRedisCluster(3, secure)).nodes : [await startRedis({ secure })];
  return {
    urls: nodes.map((n) => n.url),
    cluster: kind === "cluster",
    ca: certificates.ca,
    async flushAll() {
      for (const node of nodes) await node.cli("FLUSHALL");
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.dispose()));
      await rm(certificates.dir, { recursive: true, force: true });
    },
  };
}
