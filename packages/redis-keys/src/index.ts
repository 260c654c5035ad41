import { PREFIX_PATTERN, WEBHOOK_KEY_PATTERN } from "@gsk/schema";

/** Thrown when a prefix or key segment could break the key space (braces, globs, whitespace, `:`). */
export class KeySegmentError extends Error {
  constructor(what: string, value: string) {
    super(`invalid ${what} for a Redis key: ${JSON.stringify(value)}`);
    this.name = "KeySegmentError";
  }
}

const PREFIX = PREFIX_PATTERN;
// Account ids, flow ids and webhook keys all fit the webhook-key alphabet.
const SEGMENT = WEBHOOK_KEY_PATTERN;

function prefixOf(prefix: string): string {
  if (!PREFIX.test(prefix)) throw new KeySegmentError("prefix", prefix);
  return prefix;
}

function segment(what: string, value: string): string {
  if (!SEGMENT.test(value)) throw new KeySegmentError(what, value);
  return value;
}

/** The Redis keys of one deployment, all under `prefix`. */
export interface RedisKeys {
  readonly prefix: string;
  /** The entry stored for a webhook key. */
  entry(webhookKey: string): string;
  /** SCAN MATCH pattern of every entry key. */
  readonly entryPattern: string;
  /** The webhook key of an entry key, or undefined when the key is not an entry key. */
  webhookKeyOf(key: string): string | undefined;
  /** The TTL policy of an account. */
  accountPolicy(accountId: string): string;
  /** The TTL policy of a flow of an account. */
  flowPolicy(accountId: string, flowId: string): string;
  /** SCAN MATCH pattern of every TTL policy key. */
  readonly policyPattern: string;
  /** The account and flow (null for an account policy) of a policy key, or undefined. */
  policyOf(key: string): { accountId: string; flowId: string | null } | undefined;
  /** BullMQ's prefix: a hash tag, so a queue's keys share one cluster slot. */
  readonly bullPrefix: string;
}

/** Builds the key functions for a prefix (validated once). */
export function redisKeys(prefix: string): RedisKeys {
  const p = prefixOf(prefix);
  const entryStart = `${p}:entry:`;
  const accountStart = `${p}:ttl:account:`;
  const flowStart = `${p}:ttl:flow:`;
  return {
    prefix: p,
    entry: (webhookKey) => entryStart + segment("webhook key", webhookKey),
    entryPattern: `${entryStart}*`,
    webhookKeyOf(key) {
      if (!key.startsWith(entryStart)) return undefined;
      const rest = key.slice(entryStart.length);
      return SEGMENT.test(rest) ? rest : undefined;
    },
    accountPolicy: (accountId) => accountStart + segment("account id", accountId),
    flowPolicy: (accountId, flowId) =>
      `${flowStart}${segment("account id", accountId)}:${segment("flow id", flowId)}`,
    policyPattern: `${p}:ttl:*`,
    policyOf(key) {
      if (key.startsWith(accountStart)) {
        const accountId = key.slice(accountStart.length);
        return SEGMENT.test(accountId) ? { accountId, flowId: null } : undefined;
      }
      if (key.startsWith(flowStart)) {
        const [accountId, flowId, ...rest] = key.slice(flowStart.length).split(":");
        if (rest.length > 0 || !accountId || !flowId) return undefined;
        return SEGMENT.test(accountId) && SEGMENT.test(flowId) ? { accountId, flowId } : undefined;
      }
      return undefined;
    },
    bullPrefix: `{${p}-bull}`,
  };
}
