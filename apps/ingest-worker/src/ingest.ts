import {
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { EntryStore, MessageWrite, WriteResult } from "@gsk/redis-store";
import { createMessageParser, type RejectCode } from "@gsk/schema";
import { contextFrom, inSpan, type TraceCarrier } from "@gsk/service";
import { expiresAtMs, type TtlResolver } from "@gsk/ttl-policy";
import { type Attributes, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ByteBudget } from "./budget.ts";
import type { Metrics, Outcome } from "./metrics.ts";

export interface IngestDeps {
  store: EntryStore;
  resolver: TtlResolver;
  sqs: SQSClient;
  dlqUrl: string;
  maxDataBytes: number;
  maxClockSkewSeconds: number;
  metrics: Metrics;
  now: () => number;
  /** Bounds the data held at once: each message claims what it expands to (data × keys). */
  budget: ByteBudget;
  /** Whether the writes to these webhook keys reached the required replicas (Redis WAIT). */
  confirmWrites: (webhookKeys: string[]) => Promise<boolean>;
}

type BatchCounts = Record<Outcome, number>;

/** SQS allows 10 message attributes; two are ours. */
const MAX_FORWARDED_ATTRIBUTES = 8;
const MAX_DETAIL_BYTES = 1000;
/** SQS's default maximum message size, used when the DLQ's own cannot be read. */
const DEFAULT_MAX_MESSAGE_BYTES = 262_144;

/** A message's outcome, and the webhook keys whose Redis state decided it (to confirm on replicas). */
type Handled = { outcome: Outcome; error?: unknown; touched?: readonly string[] };

/** A message's entries being written: a result per webhook key, and the budget bytes they hold. */
interface Writing {
  webhookKeys: readonly string[];
  bytes: number;
  stopTimer: () => number;
  results: Promise<WriteResult[]>;
}

/** Writes acknowledged by the primary but not (yet) by enough replicas: retried, never lost. */
class ReplicaShortfallError extends Error {
  constructor() {
    super("Redis replicas did not confirm the batch's writes in time; the messages stay on the queue");
    this.name = "ReplicaShortfallError";
  }
}

const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

/** The bytes SQS counts for a message: body plus each attribute's name, type and value. */
function messageBytes(body: string, attributes: Record<string, MessageAttributeValue>): number {
  let size = utf8(body);
  for (const [name, value] of Object.entries(attributes)) {
    size += utf8(name) + utf8(value.DataType ?? "");
    size += value.StringValue !== undefined ? utf8(value.StringValue) : (value.BinaryValue?.length ?? 0);
  }
  return size;
}

/** `text` cut to at most `bytes` UTF-8 bytes, never inside a character. */
function truncateUtf8(text: string, bytes: number): string {
  if (utf8(text) <= bytes) return text;
  const cut = Buffer.from(text, "utf8").subarray(0, Math.max(0, bytes)).toString("utf8");
  // A character cut in half decodes as U+FFFD (3 bytes): drop it.
  return cut.endsWith("\uFFFD") ? cut.slice(0, -1) : cut;
}

/** Handles received messages; returns those to delete (written, expired or dead-lettered). */
/** The W3C trace context a message carries (set by gateway mode, or any producer that sends it). */
function traceCarrierOf(message: Message): TraceCarrier {
  const attributes = message.MessageAttributes ?? {};
  return { traceparent: attributes.traceparent?.StringValue, tracestate: attributes.tracestate?.StringValue };
}

/** A message span's attributes: its id and how long it waited in the queue. */
function messageAttributes(message: Message, now: number): Attributes {
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    "messaging.system": "aws_sqs",
    "messaging.message.id": message.MessageId ?? "",
    ...(Number.isFinite(sent) ? { "gsk.queue_wait_ms": Math.max(0, now - sent) } : {}),
  };
}

export function createIngest(deps: IngestDeps) {
  const parse = createMessageParser({
    maxDataBytes: deps.maxDataBytes,
    maxClockSkewSeconds: deps.maxClockSkewSeconds,
    now: deps.now,
  });

  let dlqLimit: Promise<number> | undefined;
  const dlqMaxBytes = () => {
    dlqLimit ??= deps.sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: deps.dlqUrl, AttributeNames: ["MaximumMessageSize"] }))
      .then((out) => Number(out.Attributes?.MaximumMessageSize) || DEFAULT_MAX_MESSAGE_BYTES)
      .catch(() => {
        dlqLimit = undefined;
        return DEFAULT_MAX_MESSAGE_BYTES;
      });
    return dlqLimit;
  };

  const deadLetter = async (message: Message, code: RejectCode, detail: string): Promise<Handled> => {
    try {
      const body = message.Body || " ";
      const attributes: Record<string, MessageAttributeValue> = Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {})
          .filter(([name]) => !name.startsWith("gsk-error-"))
          .slice(0, MAX_FORWARDED_ATTRIBUTES),
      );
      attributes["gsk-error-code"] = { DataType: "String", StringValue: code };
      attributes["gsk-error-detail"] = { DataType: "String", StringValue: code };
      // The copy must fit the DLQ's size limit: the detail gets what the rest leaves.
      const room = (await dlqMaxBytes()) - messageBytes(body, attributes) + utf8(code);
      attributes["gsk-error-detail"] = {
        DataType: "String",
        StringValue: truncateUtf8(detail, Math.min(MAX_DETAIL_BYTES, room)) || code,
      };
      await deps.sqs.send(
        new SendMessageCommand({ QueueUrl: deps.dlqUrl, MessageBody: body, MessageAttributes: attributes }),
      );
      deps.metrics.dlqSends.inc({ code, result: "sent" });
      return { outcome: "rejected" };
    } catch (error) {
      deps.metrics.dlqSends.inc({ code, result: "failed" });
      return { outcome: "failed", error };
    }
  };

  /**
   * Starts writing a message's entries within the byte budget (released by the caller once the
   * write settles), or returns the message's outcome when there is nothing to write: dead-lettered
   * when invalid, expired when its TTL has already run out. An async function holds all its
   * locals while it waits: returning once the write is sent means that while Redis answers, a
   * message holds its received body and the entry being written, not also its parsed `data` and
   * that data's JSON (a large payload three times instead of once, besides the body).
   */
  const startWrite = async (message: Message): Promise<Writing | Handled> => {
    const parsed = parse(message.Body ?? "");
    if (!parsed.ok) return deadLetter(message, parsed.code, parsed.detail);
    const { envelope, dataJson } = parsed;
    trace.getActiveSpan()?.setAttributes({
      "gsk.account_id": envelope.accountId,
      "gsk.key_count": envelope.webhookKeys.length,
    });
    const producedAt = parsed.producedAtMs ?? Number(message.Attributes?.SentTimestamp ?? deps.now());
    const { ttlSeconds } = await deps.resolver.resolve(envelope.accountId, envelope.flowId);
    const expires = expiresAtMs(producedAt, ttlSeconds);
    const now = deps.now();
    if (expires !== null && expires <= now) return { outcome: "expired" };
    const entries: MessageWrite = {
      meta: {
        accountId: envelope.accountId,
        flowId: envelope.flowId,
        eventId: envelope.eventId ?? message.MessageId ?? "",
        producedAt,
        storedAt: now,
        expiresAt: expires,
      },
      dataJson,
      webhookKeys: envelope.webhookKeys,
    };
    const bytes = dataJson.length * entries.webhookKeys.length;
    await deps.budget.acquire(bytes);
    const stopTimer = deps.metrics.redisWrite.startTimer();
    const results = inSpan(
      "redis write",
      () => ({
        kind: SpanKind.CLIENT,
        attributes: { "db.system.name": "redis", "gsk.key_count": entries.webhookKeys.length },
      }),
      () => deps.store.writeMessage(entries),
    );
    return { webhookKeys: entries.webhookKeys, bytes, stopTimer, results };
  };

  const store = async (message: Message): Promise<Handled> => {
    const writing = await startWrite(message);
    if (!("results" in writing)) return writing;
    const touched = writing.webhookKeys;
    try {
      const results = await writing.results;
      writing.stopTimer();
      const refused = touched.filter((_, i) => results[i] === "conflict");
      if (refused.length > 0) {
        const detail = `webhook keys held by another account's live entry: ${refused.join(", ")}`;
        return { ...(await deadLetter(message, "account_conflict", detail)), touched };
      }
      return { outcome: results.includes("written") ? "stored" : "unchanged", touched };
    } finally {
      deps.budget.release(writing.bytes);
    }
  };

  // Each message is decided alone: whatever one throws never touches its batch-mates. With tracing
  // on, each message is a span continuing the producer's trace (the traceparent attribute).
  const handle = (message: Message): Promise<Handled> =>
    inSpan(
      "process message",
      () => ({
        kind: SpanKind.CONSUMER,
        parent: contextFrom(traceCarrierOf(message)),
        attributes: messageAttributes(message, deps.now()),
      }),
      async (span) => {
        let handled: Handled;
        try {
          handled = await store(message);
        } catch (error) {
          handled = { outcome: "failed", error };
        }
        span.setAttribute("gsk.outcome", handled.outcome);
        if (handled.outcome === "failed") span.setStatus({ code: SpanStatusCode.ERROR });
        return handled;
      },
    );

  return async function ingest(messages: Message[]) {
    const counts: BatchCounts = { stored: 0, unchanged: 0, expired: 0, rejected: 0, failed: 0 };
    const handled = await Promise.all(messages.map(handle));
    // Durable before acknowledged: one WAIT per primary for the whole batch.
    const touched = handled.flatMap((h) => (h.outcome === "failed" ? [] : (h.touched ?? [])));
    if (touched.length > 0 && !(await deps.confirmWrites(touched).catch(() => false))) {
      deps.metrics.replicaShortfalls.inc();
      const error = new ReplicaShortfallError();
      for (const h of handled) {
        if (h.touched && h.outcome !== "failed") Object.assign(h, { outcome: "failed", error });
      }
    }
    const acked: Message[] = [];
    const errors: unknown[] = [];
    handled.forEach(({ outcome, error }, i) => {
      counts[outcome]++;
      if (outcome === "failed") errors.push(error);
      else acked.push(messages[i] as Message);
    });
    for (const [outcome, n] of Object.entries(counts)) if (n > 0) deps.metrics.messages.inc({ outcome }, n);
    return { acked, counts, errors };
  };
}
