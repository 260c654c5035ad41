import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";

/** The key of messages without `gsk-error-code`: moved by SQS itself after maxReceiveCount. */
export const REDRIVEN = "redriven";
/** How long the messages looked at stay hidden from other readers while a command runs. */
const HOLD_SECONDS = 300;
const DETAIL_SAMPLE_CHARS = 300;

export interface DlqDeps {
  sqs: SQSClient;
  dlqUrl: string;
  /** The source queue replayed messages go back to. */
  queueUrl: string;
  progress: (line: string) => void;
}

export interface DlqSample {
  messageId: string;
  code: string;
  detail: string;
  sentAt: string | undefined;
  receiveCount: number;
  body: string;
}

const codeOf = (m: Message) => m.MessageAttributes?.["gsk-error-code"]?.StringValue ?? REDRIVEN;

/**
 * Every message of the DLQ, once each, batch by batch: each stays hidden (HOLD_SECONDS) until
 * `release` makes the ones not deleted visible again at once. A long poll that returns nothing ends it.
 */
async function* examine(deps: DlqDeps, held: Message[]): AsyncGenerator<Message> {
  for (;;) {
    const out = await deps.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deps.dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: HOLD_SECONDS,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["SentTimestamp", "ApproximateReceiveCount"],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return;
    for (const message of messages) {
      held.push(message);
      yield message;
    }
    if (held.length % 100 < 10) deps.progress(`examined ${held.length} messages`);
  }
}

/** Makes the held messages visible again at once (ten per call). */
async function release(deps: DlqDeps, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10);
    await deps.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: deps.dlqUrl,
        Entries: batch.map((m, j) => ({
          Id: String(j),
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

function sample(m: Message): DlqSample {
  const sent = Number(m.Attributes?.SentTimestamp);
  return {
    messageId: m.MessageId ?? "",
    code: codeOf(m),
    detail: m.MessageAttributes?.["gsk-error-detail"]?.StringValue ?? "",
    sentAt: Number.isFinite(sent) ? new Date(sent).toISOString() : undefined,
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
    body: (m.Body ?? "").slice(0, DETAIL_SAMPLE_CHARS),
  };
}

/**
 * Counts the DLQ's messages by error code (only `code`'s when given) and returns up to `limit`
 * samples of them; changes nothing: every message looked at is visible again when it returns.
 */
export async function listDlq(
  deps: DlqDeps,
  options: { code?: string; limit: number },
): Promise<{ total: number; byCode: Record<string, number>; samples: DlqSample[] }> {
  const held: Message[] = [];
  const byCode: Record<string, number> = {};
  const samples: DlqSample[] = [];
  let total = 0;
  try {
    for await (const message of examine(deps, held)) {
      const code = codeOf(message);
      if (options.code !== undefined && code !== options.code) continue;
      total++;
      byCode[code] = (byCode[code] ?? 0) + 1;
      if (samples.length < options.limit) samples.push(sample(message));
    }
  } finally {
    await release(deps, held);
  }
  return { total, byCode, samples };
}

/** A message's attributes as they were before it was dead-lettered (without `gsk-error-*`). */
function originalAttributes(m: Message): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(m.MessageAttributes ?? {})
      .filter(([name]) => !name.startsWith("gsk-error-"))
      .map(([name, value]) => [
        name,
        {
          DataType: value.DataType,
          ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
          ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
        },
      ]),
  );
}

/**
 * Sends up to `max` messages (of `code`, or any) back to the source queue, body and original
 * attributes, deleting each from the DLQ only once the source queue accepted it; the rest are
 * visible again at once. With `dryRun` nothing is sent or deleted: `replayed` is what would be.
 */
export async function replayDlq(
  deps: DlqDeps,
  options: { code?: string; max: number; dryRun: boolean },
): Promise<{ replayed: number; left: number; byCode: Record<string, number> }> {
  const held: Message[] = [];
  const byCode: Record<string, number> = {};
  const deleted = new Set<Message>();
  let replayed = 0;
  try {
    for await (const message of examine(deps, held)) {
      const code = codeOf(message);
      byCode[code] = (byCode[code] ?? 0) + 1;
      if ((options.code !== undefined && code !== options.code) || replayed >= options.max) continue;
      if (options.dryRun) {
        replayed++;
        continue;
      }
      try {
        await deps.sqs.send(
          new SendMessageCommand({
            QueueUrl: deps.queueUrl,
            MessageBody: message.Body,
            MessageAttributes: originalAttributes(message),
          }),
        );
      } catch (error) {
        deps.progress(
          `not replayed ${message.MessageId}: the source queue refused it (${(error as Error).message})`,
        );
        continue;
      }
      // Accepted by the source queue: only now is it removed from the DLQ.
      await deps.sqs.send(
        new DeleteMessageCommand({ QueueUrl: deps.dlqUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      deleted.add(message);
      replayed++;
      if (options.max === replayed) deps.progress(`replayed ${replayed} (--max reached)`);
    }
  } finally {
    await release(
      deps,
      held.filter((m) => !deleted.has(m)),
    );
  }
  const looked = Object.values(byCode).reduce((a, b) => a + b, 0);
  return { replayed, left: looked - replayed, byCode };
}
