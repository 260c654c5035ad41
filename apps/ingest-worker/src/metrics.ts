import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { createRegistry } from "@gsk/service";
import { Counter, Gauge, Histogram } from "prom-client";

/** How long queue attributes read from SQS are reused: scrapes never cost more than one call per 15 s. */
const QUEUE_ATTRIBUTES_MAX_AGE_MS = 15_000;

const OUTCOMES = ["stored", "unchanged", "expired", "rejected", "failed"] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * The queue's backlog as SQS reports it (GetQueueAttributes, at most once per 15 s, on scrape), and
 * the age of the oldest message the worker received in the last 15 s (SQS's attributes have no
 * oldest-message age; CloudWatch's ApproximateAgeOfOldestMessage is the same signal there).
 */
function queueGauges(
  registry: ReturnType<typeof createRegistry>,
  queue: { sqs: SQSClient; queueUrl: string } | undefined,
  now: () => number,
) {
  let cached: { at: number; visible: number; inFlight: number } | undefined;
  const attributes = async () => {
    if (!queue) return undefined;
    if (cached && now() - cached.at < QUEUE_ATTRIBUTES_MAX_AGE_MS) return cached;
    try {
      const out = await queue.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queue.queueUrl,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      cached = {
        at: now(),
        visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    } catch {
      // SQS unreachable: the last known values stay (a failed poll shows in the poll age).
    }
    return cached;
  };
  let oldest: { at: number; sentAt: number } | undefined;
  const backlog = [
    [
      "gsk_ingest_queue_visible_messages",
      "Messages waiting in the queue (ApproximateNumberOfMessages)",
      "visible",
    ],
    [
      "gsk_ingest_queue_in_flight_messages",
      "Messages received and not yet deleted, by any worker (ApproximateNumberOfMessagesNotVisible)",
      "inFlight",
    ],
  ] as const;
  for (const [name, help, field] of backlog) {
    new Gauge({
      name,
      help: `${help}, read from SQS at most every 15 s`,
      registers: [registry],
      async collect() {
        const a = await attributes();
        if (a) this.set(a[field]);
      },
    });
  }
  new Gauge({
    name: "gsk_ingest_queue_oldest_message_age_seconds",
    help: "Age (since SQS accepted it) of the oldest message received in the last 15 s; 0 when none was",
    registers: [registry],
    collect() {
      this.set(
        oldest && now() - oldest.at < QUEUE_ATTRIBUTES_MAX_AGE_MS
          ? Math.max(0, now() - oldest.sentAt) / 1000
          : 0,
      );
    },
  });
  return {
    /** Notes the SentTimestamp of received messages. */
    received(sentAts: number[]) {
      const sentAt = Math.min(...sentAts.filter(Number.isFinite));
      if (!Number.isFinite(sentAt)) return;
      if (!oldest || now() - oldest.at >= QUEUE_ATTRIBUTES_MAX_AGE_MS || sentAt < oldest.sentAt)
        oldest = { at: now(), sentAt };
    },
  };
}

/** The worker's Prometheus metrics, on a registry of its own (with the queue's backlog when `queue` is given). */
export function createMetrics(queue?: { sqs: SQSClient; queueUrl: string }, now: () => number = Date.now) {
  const registry = createRegistry();
  const metrics = {
    registry,
    messages: new Counter({
      name: "gsk_ingest_messages_total",
      help: "Messages handled, by outcome",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: "gsk_ingest_batch_duration_seconds",
      help: "Time to handle one received batch",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    redisWrite: new Histogram({
      name: "gsk_ingest_redis_write_duration_seconds",
      help: "Time to write one message's entries under all its webhook keys",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    dlqSends: new Counter({
      name: "gsk_ingest_dlq_sends_total",
      help: "Messages sent to the dead-letter queue, by error code and result",
      labelNames: ["code", "result"] as const,
      registers: [registry],
    }),
    deleteFailures: new Counter({
      name: "gsk_ingest_delete_failures_total",
      help: "Handled messages whose deletion from the queue failed (they will be redelivered)",
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: "gsk_ingest_in_flight_messages",
      help: "Messages being handled now",
      registers: [registry],
    }),
    replicaShortfalls: new Counter({
      name: "gsk_ingest_replica_shortfalls_total",
      help: "Batches whose writes did not reach REDIS_MIN_REPLICAS replicas in time (left for redelivery)",
      registers: [registry],
    }),
    paused: new Gauge({
      name: "gsk_ingest_receiving_paused",
      help: "1 while receiving is paused (Redis not answering, or the in-flight data bound reached)",
      registers: [registry],
    }),
    lastPoll: new Gauge({
      name: "gsk_ingest_last_poll_timestamp_seconds",
      help: "When a ReceiveMessage call last succeeded",
      registers: [registry],
    }),
    queue: queueGauges(registry, queue, now),
  };
  for (const outcome of OUTCOMES) metrics.messages.inc({ outcome }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
