import { createClient, createCluster } from "redis";

/** Where Redis is (one URL, or the seed nodes of a cluster) and how long a command may take. */
export interface RedisConfig {
  urls: string[];
  cluster: boolean;
  /** A command unanswered for this long fails with `RedisTimeoutError` (0: never). */
  commandTimeoutMs?: number;
  /**
   * Replicas a write must reach before it counts as durable (`confirmWrites`): a number, or
   * "auto" (1 when the primary reports a connected replica, else 0). Default 0.
   */
  minReplicas?: number | "auto";
  /** How long `confirmWrites` waits for the replicas (default 1000). */
  replicaTimeoutMs?: number;
}

/** What a `redis://` or `rediss://` URL says about reaching a node: address, credentials, TLS. */
export interface RedisEndpoint {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/**
 * Reads a Redis URL. Cluster clients need this apart from the URL: node-redis and ioredis both take
 * the seed nodes' URLs but connect to the nodes the cluster announces with their defaults only,
 * so the credentials and TLS of the URL must go into those defaults.
 */
export function redisEndpoint(url: string): RedisEndpoint {
  const u = new URL(url);
  const decode = (part: string) => (part === "" ? undefined : decodeURIComponent(part));
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: Number(u.port || 6379),
    username: decode(u.username),
    password: decode(u.password),
    tls: u.protocol === "rediss:",
  };
}

/** How often "auto" re-reads each primary's connected replicas (also after every reconnect). */
const REPLICA_COUNT_MAX_AGE_MS = 10_000;

/** A connection to one primary, as much as replica confirmation needs. */
interface PrimaryClient {
  sendCommand(args: string[]): Promise<unknown>;
  on(event: "ready", listener: () => void): unknown;
}

/**
 * Confirms that the writes a connection made reached replicas (Redis WAIT, on the connection that
 * wrote, so it covers everything that connection wrote before).
 */
function replicaConfirmer(
  config: RedisConfig,
  limitWait: Limit,
  primariesOf: (keys: readonly string[]) => Promise<Iterable<PrimaryClient>>,
) {
  const wanted = config.minReplicas ?? 0;
  const timeout = config.replicaTimeoutMs ?? 1000;
  const counts = new WeakMap<PrimaryClient, { replicas: number; at: number } | undefined>();
  const required = async (client: PrimaryClient): Promise<number> => {
    if (wanted !== "auto") return wanted;
    if (!counts.has(client)) {
      counts.set(client, undefined);
      client.on("ready", () => counts.set(client, undefined));
    }
    const known = counts.get(client);
    if (known && performance.now() - known.at < REPLICA_COUNT_MAX_AGE_MS) return known.replicas;
    const info = String(await limitWait(client.sendCommand(["INFO", "replication"])));
    const replicas = Math.min(1, Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0));
    counts.set(client, { replicas, at: performance.now() });
    return replicas;
  };
  // WAIT blocks its connection, which every caller shares, until the replicas answer: one WAIT at
  // a time per connection, and callers that come while one is out share the next one, which is
  // sent after their writes were answered and so covers them (a group commit).
  const waits = new WeakMap<PrimaryClient, { out?: Promise<number>; next?: Promise<number> }>();
  const wait = (client: PrimaryClient, n: number): Promise<number> => {
    let slot = waits.get(client);
    if (!slot) {
      slot = {};
      waits.set(client, slot);
    }
    const send = () => {
      const out = limitWait(client.sendCommand(["WAIT", String(n), String(timeout)])).then(Number);
      slot.out = out;
      const done = () => {
        if (slot.out === out) slot.out = undefined;
      };
      out.then(done, done);
      return out;
    };
    if (!slot.out) return send();
    slot.next ??= slot.out
      .catch(() => 0)
      .then(() => {
        slot.next = undefined;
        return send();
      });
    return slot.next;
  };
  return async (keys: readonly string[]): Promise<boolean> => {
    if (wanted === 0 || keys.length === 0) return true;
    const primaries = [...(await primariesOf(keys))];
    const results = await Promise.all(
      primaries.map(async (client) => {
        const n = await required(client);
        return n === 0 || (await wait(client, n)) >= n;
      }),
    );
    return results.every(Boolean);
  };
}

/** The connection settings from an app's parsed environment. */
export function redisConfig(env: {
  REDIS_URL: string[];
  REDIS_CLUSTER: boolean;
  REDIS_COMMAND_TIMEOUT_MS: number;
  REDIS_MIN_REPLICAS: number | "auto";
  REDIS_REPLICA_TIMEOUT_MS: number;
}): RedisConfig {
  return {
    urls: env.REDIS_URL,
    cluster: env.REDIS_CLUSTER,
    commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    minReplicas: env.REDIS_MIN_REPLICAS,
    replicaTimeoutMs: env.REDIS_REPLICA_TIMEOUT_MS,
  };
}

/** A Redis command that got no answer within the configured timeout (Redis hung, not down). */
export class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = "RedisTimeoutError";
  }
}

interface Pending {
  at: number;
  /** Cleared once the call settles, so a settled call holds nothing (its reply may be large). */
  reject: ((error: Error) => void) | undefined;
}

/**
 * Bounds the time of every call with one timer for all of them: every call has the same timeout,
 * so deadlines arrive in call order and a FIFO queue replaces node-redis's timer per command
 * (which cost latency at the tail, measured in get-api's bench).
 */
function deadlines(ms: number): Limit {
  const queue: Pending[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;
  /** Drops settled calls from the front; replies come in call order, so that is nearly all of them. */
  const advance = () => {
    while (head < queue.length && !(queue[head] as Pending).reject) head++;
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  };
  const sweep = () => {
    timer = undefined;
    const now = performance.now();
    while (head < queue.length) {
      const next = queue[head] as Pending;
      if (next.reject && next.at > now) break;
      next.reject?.(new RedisTimeoutError(ms));
      head++;
    }
    advance();
    arm();
  };
  const arm = () => {
    if (timer || head >= queue.length) return;
    const wait = Math.max(0, (queue[head] as Pending).at - performance.now());
    timer = setTimeout(sweep, wait + 1);
    timer.unref();
  };
  // A settled call leaves the queue at once (not at its deadline), so the queue holds the calls in
  // flight, not every call of the last `ms`: entries die young instead of being promoted by the GC.
  return <T>(call: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const pending: Pending = { at: performance.now() + ms, reject };
      queue.push(pending);
      arm();
      call.then(
        (value) => {
          pending.reject = undefined;
          advance();
          resolve(value);
        },
        (error: unknown) => {
          pending.reject = undefined;
          advance();
          reject(error);
        },
      );
    });
}

const TIMED = [
  "get",
  "set",
  "del",
  "hmGet",
  "pExpireTime",
  "pExpire",
  "scan",
  "evalSha",
  "eval",
  "scriptLoad",
] as const satisfies readonly (keyof Redis)[];

type Limit = <T>(call: Promise<T>) => Promise<T>;

/** The client with every data command bounded by `limit` (none: unchanged). */
function bounded(redis: Redis, limit: Limit | undefined, connect = () => redis.connect()): Redis {
  const timed = Object.fromEntries(
    TIMED.map((name) => {
      const method = (redis[name] as (...args: unknown[]) => Promise<unknown>).bind(redis);
      return [name, limit ? (...args: unknown[]) => limit(method(...args)) : method];
    }),
  );
  return {
    ...(timed as Pick<Redis, (typeof TIMED)[number]>),
    connect,
    close: () => redis.close(),
    destroy: () => redis.destroy(),
    on: (event, listener) => redis.on(event, listener),
    get isReady() {
      return redis.isReady;
    },
  };
}

/** A script's keys and arguments; a Buffer argument is sent as it is, never copied into the command. */
export interface ScriptCall {
  keys: string[];
  arguments: (string | Buffer)[];
}

/**
 * The Redis commands the apps use, satisfied by a node-redis client and cluster alike
 * (a cluster routes each by its key).
 */
export interface Redis {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
  del(key: string): Promise<number>;
  hmGet(key: string, fields: string[]): Promise<(string | null)[]>;
  pExpireTime(key: string): Promise<number>;
  pExpire(key: string, ms: number): Promise<number>;
  scan(
    cursor: string,
    options: { MATCH: string; COUNT: number },
  ): Promise<{ cursor: string; keys: string[] }>;
  evalSha(sha: string, options: ScriptCall): Promise<unknown>;
  eval(script: string, options: ScriptCall): Promise<unknown>;
  scriptLoad(script: string): Promise<string>;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  on(event: "error", listener: (error: Error) => void): unknown;
  readonly isReady: boolean;
}

/** What `createRedis` adds: the masters to SCAN, a ping for readiness, replica confirmation. */
export interface RedisHandle {
  /** The client for commands (a cluster routes each by its key). */
  client: Redis;
  /** One client per master (the client itself when not a cluster), for SCAN, named `host:port`. */
  masters(): Promise<{ id: string; redis: Redis }[]>;
  ping(): Promise<void>;
  /**
   * Waits until this process's writes to the primaries holding `keys` reached `minReplicas`
   * replicas (one WAIT per primary); false when they fell short within `replicaTimeoutMs`.
   */
  confirmWrites(keys: readonly string[]): Promise<boolean>;
}

const socket = {
  connectTimeout: 5000,
  // Reconnect forever with capped backoff: an outage must not end the process.
  reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
};

/**
 * Creates (without connecting) a node-redis client, or a cluster client when `cluster` is set.
 * Commands fail at once while disconnected (no offline queue), so callers see outages, and fail
 * with `RedisTimeoutError` when Redis is connected but does not answer in `commandTimeoutMs`.
 */
export function createRedis(config: RedisConfig, onError: (error: Error) => void): RedisHandle {
  const timeoutMs = config.commandTimeoutMs ?? 0;
  const limit: Limit | undefined = timeoutMs > 0 ? deadlines(timeoutMs) : undefined;
  const ping = (call: Promise<unknown>) => (limit ? limit(call) : call);
  // WAIT takes up to the replica timeout by design; a hung Redis still fails it after the command timeout.
  const waitLimit: Limit =
    timeoutMs > 0 ? deadlines(timeoutMs + (config.replicaTimeoutMs ?? 1000)) : (call) => call;
  if (config.cluster) {
    // Every node gets the seed URL's credentials and TLS, not only the seeds.
    const { username, password, tls } = redisEndpoint(config.urls[0] as string);
    const cluster = createCluster({
      rootNodes: config.urls.map((url) => ({ url })),
      defaults: {
        socket: tls ? { ...socket, tls: true as const } : socket,
        username,
        password,
        disableOfflineQueue: true,
      },
      commandOptions: { timeout: 0 },
    });
    cluster.on("error", onError);
    // Unlike a single client, a cluster's first connect gives up when no seed node answers.
    const connect = async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await cluster.connect();
        } catch (error) {
          onError(error as Error);
          await new Promise((resolve) => setTimeout(resolve, socket.reconnectStrategy(attempt)));
        }
      }
    };
    return {
      client: bounded(cluster as unknown as Redis, limit, connect),
      masters: () =>
        Promise.all(
          cluster.masters.map(async (m) => ({
            id: m.address,
            redis: bounded((await cluster.nodeClient(m)) as unknown as Redis, limit),
          })),
        ),
      async ping() {
        // Before the first slot discovery there are no masters to ping, yet no command can run.
        if (!cluster.isReady) throw new Error("the Redis cluster is not connected");
        await ping(Promise.all(cluster.masters.map(async (m) => (await cluster.nodeClient(m)).ping())));
      },
      confirmWrites: replicaConfirmer(config, waitLimit, async (keys) => {
        const clients = new Set<PrimaryClient>();
        for (const key of keys)
          clients.add((await cluster.getNodeClientForKey(key)) as unknown as PrimaryClient);
        return clients;
      }),
    };
  }
  const [url] = config.urls;
  const raw = createClient({ url, socket, disableOfflineQueue: true, commandOptions: { timeout: 0 } });
  raw.on("error", onError);
  const client = bounded(raw as unknown as Redis, limit);
  return {
    client,
    masters: async () => [{ id: "single", redis: client }],
    async ping() {
      await ping(raw.ping());
    },
    confirmWrites: replicaConfirmer(config, waitLimit, async () => [raw as unknown as PrimaryClient]),
  };
}
