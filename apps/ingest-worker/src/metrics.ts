import { createRegistry } from "@gsk/service";
import { Counter, Gauge, Histogram } from "prom-client";

const OUTCOMES = ["stored", "unchanged", "expired", "rejected", "failed"] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** The worker's Prometheus metrics, on a registry of its own. */
export function createMetrics() {
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
  };
  for (const outcome of OUTCOMES) metrics.messages.inc({ outcome }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
