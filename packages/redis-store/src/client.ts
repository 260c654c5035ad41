import { createClient, createCluster } from "redis";

/** Where Redis is: one URL, or the seed nodes of a cluster. */
export interface RedisConfig {
  urls: string[];
  cluster: boolean;
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
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  scriptLoad(script: string): Promise<string>;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
  on(event: "error", listener: (error: Error) => void): unknown;
  readonly isReady: boolean;
}

/** What `createRedis` adds: the masters to SCAN and a ping for readiness. */
export interface RedisHandle {
  redis: Redis;
  /** One client per master (the client itself when not a cluster), for SCAN, named `host:port`. */
  masters(): Promise<{ id: string; redis: Redis }[]>;
  ping(): Promise<void>;
}

const socket = {
  connectTimeout: 5000,
  // Reconnect forever with capped backoff: an outage must not end the process.
  reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
};

/**
 * Creates (without connecting) a node-redis client, or a cluster client when `cluster` is set.
 * Commands fail at once while disconnected (no offline queue), so callers see outages; the
 * per-command timer is off because it costs latency at the tail (measured in get-api's bench).
 */
export function createRedis(config: RedisConfig, onError: (error: Error) => void): RedisHandle {
  if (config.cluster) {
    const cluster = createCluster({
      rootNodes: config.urls.map((url) => ({ url })),
      defaults: { socket, disableOfflineQueue: true },
      commandOptions: { timeout: 0 },
    });
    cluster.on("error", onError);
    const redis = cluster as unknown as Redis;
    return {
      redis,
      masters: () =>
        Promise.all(
          cluster.masters.map(async (m) => ({
            id: m.address,
            redis: (await cluster.nodeClient(m)) as unknown as Redis,
          })),
        ),
      async ping() {
        await Promise.all(cluster.masters.map(async (m) => (await cluster.nodeClient(m)).ping()));
      },
    };
  }
  const [url] = config.urls;
  const client = createClient({ url, socket, disableOfflineQueue: true, commandOptions: { timeout: 0 } });
  client.on("error", onError);
  const redis = client as unknown as Redis;
  return {
    redis,
    masters: async () => [{ id: "single", redis }],
    async ping() {
      await client.ping();
    },
  };
}
