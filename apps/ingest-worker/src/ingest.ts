import {
  type Message,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { EntryStore } from "@gsk/redis-store";
import { createEnvelopeSchema, formatInstant, parseMessage, type RejectCode } from "@gsk/schema";
import { expiresAtMs, type TtlResolver } from "@gsk/ttl-policy";
import type { Metrics, Outcome } from "./metrics.ts";

export interface IngestDeps {
  store: EntryStore;
  resolver: TtlResolver;
  sqs: SQSClient;
  dlqUrl: string;
  maxDataBytes: number;
  metrics: Metrics;
  now: () => number;
}

type BatchCounts = Record<Outcome, number>;

/** SQS allows 10 message attributes; two are ours. */
const MAX_FORWARDED_ATTRIBUTES = 8;
const MAX_DETAIL = 1000;

type Handled = { outcome: Outcome; error?: unknown };

/** Handles received messages; returns those to delete (written, expired or dead-lettered). */
export function createIngest(deps: IngestDeps) {
  const schema = createEnvelopeSchema(deps.maxDataBytes);

  const deadLetter = async (message: Message, code: RejectCode, detail: string): Promise<Handled> => {
    const forwarded = Object.entries(message.MessageAttributes ?? {})
      .filter(([name]) => !name.startsWith("gsk-error-"))
      .slice(0, MAX_FORWARDED_ATTRIBUTES);
    const attributes: Record<string, MessageAttributeValue> = Object.fromEntries(forwarded);
    attributes["gsk-error-code"] = { DataType: "String", StringValue: code };
    attributes["gsk-error-detail"] = { DataType: "String", StringValue: detail.slice(0, MAX_DETAIL) || code };
    try {
      await deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: deps.dlqUrl,
          MessageBody: message.Body || " ",
          MessageAttributes: attributes,
        }),
      );
      deps.metrics.dlqSends.inc({ result: "sent" });
      return { outcome: "rejected" };
    } catch (error) {
      deps.metrics.dlqSends.inc({ result: "failed" });
      return { outcome: "failed", error };
    }
  };

  const handle = async (message: Message): Promise<Handled> => {
    const parsed = parseMessage(schema, message.Body ?? "");
    if (!parsed.ok) return deadLetter(message, parsed.code, parsed.detail);
    const { envelope, dataJson } = parsed;
    try {
      const sent = Number(message.Attributes?.SentTimestamp ?? deps.now());
      const producedAt = envelope.producedAt ?? formatInstant(sent);
      const eventId = envelope.eventId ?? message.MessageId ?? "";
      const { ttlSeconds } = await deps.resolver.resolve(envelope.accountId, envelope.flowId);
      const expires = expiresAtMs(Date.parse(producedAt), ttlSeconds);
      const now = deps.now();
      if (expires !== null && expires <= now) return { outcome: "expired" };
      const meta = {
        accountId: envelope.accountId,
        flowId: envelope.flowId,
        eventId,
        producedAt,
        storedAt: formatInstant(now),
        expiresAt: expires === null ? null : formatInstant(expires),
      };
      const results = await Promise.all(
        envelope.webhookKeys.map(async (webhookKey) => {
          const stop = deps.metrics.redisWrite.startTimer();
          const result = await deps.store.write({ meta: { ...meta, webhookKey }, dataJson });
          stop();
          return result;
        }),
      );
      return { outcome: results.includes("written") ? "stored" : "unchanged" };
    } catch (error) {
      return { outcome: "failed", error };
    }
  };

  return async function ingest(messages: Message[]) {
    const counts: BatchCounts = { stored: 0, unchanged: 0, expired: 0, rejected: 0, failed: 0 };
    const handled = await Promise.all(messages.map(handle));
    const acked: Message[] = [];
    const errors: unknown[] = [];
    handled.forEach(({ outcome, error }, i) => {
      counts[outcome]++;
      deps.metrics.messages.inc({ outcome });
      if (outcome === "failed") errors.push(error);
      else acked.push(messages[i] as Message);
    });
    return { acked, counts, errors };
  };
}
