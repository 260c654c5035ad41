import type { RedisKeys } from "@gsk/redis-keys";
import { describeIssues, type EffectiveTtl, type TtlPolicy, TtlPolicySchema } from "@gsk/schema";
import * as v from "valibot";

/** The Redis commands policies need; a node-redis client or cluster satisfies it. */
export interface PolicyRedis {
  get(key: string): Promise<string | null | unknown>;
  set(key: string, value: string): Promise<unknown>;
  del(key: string): Promise<number | unknown>;
}

/** What a policy store needs of a Redis connection (`@gsk/redis-store`'s handle satisfies it). */
export interface PolicyHandle {
  client: PolicyRedis;
  /** Every primary, to list policies on a cluster. */
  masters(): Promise<
    {
      redis: PolicyRedis & {
        scan(
          cursor: string,
          options: { MATCH: string; COUNT: number },
        ): Promise<{ cursor: string; keys: string[] }>;
      };
    }[]
  >;
  /** Whether writes to these keys reached the replicas they must (Redis WAIT). */
  confirmWrites(keys: string[]): Promise<boolean>;
}

/** A stored policy with where it applies (`flowId` null: the account's). */
export interface ListedPolicy {
  accountId: string;
  flowId: string | null;
  ttlSeconds: number | null;
}

/** Where a policy applies: an account, or one flow of an account. */
export interface PolicyScope {
  accountId: string;
  flowId?: string | null;
}

/** Effective TTL: the flow's policy if set, else the account's, else the default. */
export function resolveTtl(
  flow: TtlPolicy | null,
  account: TtlPolicy | null,
  defaultTtlSeconds: number,
): EffectiveTtl {
  if (flow) return { ttlSeconds: flow.ttlSeconds, source: "flow" };
  if (account) return { ttlSeconds: account.ttlSeconds, source: "account" };
  return { ttlSeconds: defaultTtlSeconds, source: "default" };
}

/** Absolute expiry in epoch ms (`producedAt + ttl`), or null when the data never expires. */
export function expiresAtMs(producedAtMs: number, ttlSeconds: number | null): number | null {
  return ttlSeconds === null ? null : producedAtMs + ttlSeconds * 1000;
}

/** Decodes a stored policy, failing loudly on a value that is not one. */
export function decodePolicy(key: string, raw: unknown): TtlPolicy | null {
  if (raw === null || raw === undefined) return null;
  let json: unknown;
  try {
    json = JSON.parse(String(raw));
  } catch {
    throw new Error(`TTL policy at ${key} is not JSON`);
  }
  const result = v.safeParse(TtlPolicySchema, json);
  if (!result.success) throw new Error(`TTL policy at ${key} is invalid: ${describeIssues(result.issues)}`);
  return result.output;
}

/** Reads and writes TTL policies in Redis. */
export interface PolicyStore {
  get(scope: PolicyScope): Promise<TtlPolicy | null>;
  set(scope: PolicyScope, policy: TtlPolicy): Promise<void>;
  /** Removes a policy; true when there was one. */
  delete(scope: PolicyScope): Promise<boolean>;
  /** The effective TTL, read from Redis now (no cache). */
  effective(accountId: string, flowId: string): Promise<EffectiveTtl>;
  /** Every stored policy, a SCAN page at a time, on every primary. */
  list(pageSize: number): AsyncIterable<ListedPolicy[]>;
}

/**
 * The policies in Redis. A write resolves once the handle confirms it reached the replicas it
 * must (Redis WAIT); when they fall short in time it rejects, and the caller may retry.
 */
export function createPolicyStore(
  handle: PolicyHandle,
  keys: RedisKeys,
  defaultTtlSeconds: number,
): PolicyStore {
  const redis = handle.client;
  const keyOf = (scope: PolicyScope) =>
    scope.flowId ? keys.flowPolicy(scope.accountId, scope.flowId) : keys.accountPolicy(scope.accountId);
  const read = async (key: string) => decodePolicy(key, await redis.get(key));
  const confirmed = async (key: string) => {
    if (!(await handle.confirmWrites([key])))
      throw new Error("Redis replicas did not confirm the policy write in time");
  };
  return {
    get: (scope) => read(keyOf(scope)),
    async set(scope, policy) {
      const key = keyOf(scope);
      await redis.set(key, JSON.stringify({ ttlSeconds: policy.ttlSeconds }));
      await confirmed(key);
    },
    async delete(scope) {
      const key = keyOf(scope);
      const existed = Number(await redis.del(key)) > 0;
      if (existed) await confirmed(key);
      return existed;
    },
    async effective(accountId, flowId) {
      const [flow, account] = await Promise.all([
        read(keys.flowPolicy(accountId, flowId)),
        read(keys.accountPolicy(accountId)),
      ]);
      return resolveTtl(flow, account, defaultTtlSeconds);
    },
    async *list(pageSize) {
      for (const { redis: node } of await handle.masters()) {
        let cursor = "0";
        do {
          const page = await node.scan(cursor, { MATCH: keys.policyPattern, COUNT: pageSize });
          const found = await Promise.all(
            page.keys.map(async (key) => {
              const scope = keys.policyOf(key);
              const policy = scope ? decodePolicy(key, await node.get(key)) : null;
              return scope && policy ? [{ ...scope, ttlSeconds: policy.ttlSeconds }] : [];
            }),
          );
          yield found.flat();
          cursor = page.cursor;
        } while (cursor !== "0");
      }
    },
  };
}

/** Longest a cached policy may be served: the contract promises 5 seconds. */
export const MAX_POLICY_STALENESS_MS = 5000;

export interface CachedResolverOptions {
  defaultTtlSeconds: number;
  /** How long a read policy is reused (default 2000 ms; at most 4000, so a change lands within 5 s). */
  maxAgeMs?: number;
  /** Most policies kept, and most resolved (account, flow) pairs (default 10,000 each); past it the oldest half is dropped. */
  maxEntries?: number;
  now?: () => number;
}

/** Resolves effective TTLs for the workers, caching each policy read for at most `maxAgeMs`. */
export interface TtlResolver {
  resolve(accountId: string, flowId: string): Promise<EffectiveTtl>;
}

interface CacheSlot<T> {
  /** When the read behind the value was sent (for a resolved TTL: the older of its two reads). */
  readAt: number;
  value: Promise<T>;
}

/**
 * Values by key, each served while read at most `maxAgeMs` ago (counted from when the read was
 * sent, so a served value is never older); a failed read is dropped, so the next call retries it.
 */
function slotCache<T>(maxAgeMs: number, maxEntries: number) {
  const slots = new Map<string, CacheSlot<T>>();
  return (key: string, at: number, read: () => CacheSlot<T>): CacheSlot<T> => {
    const slot = slots.get(key);
    if (slot && at - slot.readAt <= maxAgeMs) return slot;
    if (slots.size >= maxEntries) {
      let drop = Math.ceil(maxEntries / 2);
      for (const k of slots.keys()) {
        if (drop-- <= 0) break;
        slots.delete(k);
      }
    }
    const fresh = read();
    slots.set(key, fresh);
    fresh.value.catch(() => {
      if (slots.get(key) === fresh) slots.delete(key);
    });
    return fresh;
  };
}

export function createCachedResolver(
  redis: PolicyRedis,
  keys: RedisKeys,
  options: CachedResolverOptions,
): TtlResolver {
  const maxAgeMs = options.maxAgeMs ?? 2000;
  if (maxAgeMs < 0 || maxAgeMs > MAX_POLICY_STALENESS_MS - 1000) {
    throw new RangeError(`maxAgeMs must be 0-${MAX_POLICY_STALENESS_MS - 1000}, got ${maxAgeMs}`);
  }
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const policies = slotCache<TtlPolicy | null>(maxAgeMs, maxEntries);
  // Each (account, flow) pair's resolved TTL is kept too: a message then costs one lookup, not two
  // key builds, two lookups and a join of two promises (the policy reads stay shared by an
  // account's flows).
  const effective = slotCache<EffectiveTtl>(maxAgeMs, maxEntries);

  const policy = (key: string, at: number) =>
    policies(key, at, () => ({ readAt: at, value: redis.get(key).then((raw) => decodePolicy(key, raw)) }));

  return {
    resolve(accountId, flowId) {
      const at = now();
      try {
        // The account id's length first: two distinct pairs never share a key.
        return effective(`${accountId.length}:${accountId}${flowId}`, at, () => {
          const flow = policy(keys.flowPolicy(accountId, flowId), at);
          const account = policy(keys.accountPolicy(accountId), at);
          return {
            readAt: Math.min(flow.readAt, account.readAt),
            value: Promise.all([flow.value, account.value]).then(([f, a]) =>
              resolveTtl(f, a, options.defaultTtlSeconds),
            ),
          };
        }).value;
      } catch (error) {
        // An id that cannot be a key segment: rejected like a failed read.
        return Promise.reject(error);
      }
    },
  };
}
