import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import { redisKeys } from "@gsk/redis-keys";
import { createEntryStore, type RedisHandle } from "@gsk/redis-store";
import { type HttpServer, type Logger, listen, opsRoutes } from "@gsk/service";
import { createCachedResolver } from "@gsk/ttl-policy";
import { Consumer } from "sqs-consumer";
import { createByteBudget } from "./budget.ts";
import type { Env } from "./env.ts";
import { createIngest } from "./ingest.ts";
import { createMetrics } from "./metrics.ts";

export interface WorkerDeps {
  env: Env;
  redis: RedisHandle;
  sqs: SQSClient;
  logger: Logger;
  now?: () => number;
}

export interface Worker {
  /** Starts the HTTP listener and the consumers. */
  start(): Promise<void>;
  /** Fails readiness, stops polling, lets in-flight batches finish and be deleted, closes HTTP. */
  stop(): Promise<void>;
  readonly port: number;
  readonly metrics: ReturnType<typeof createMetrics>;
}

interface Slot {
  consumer: Consumer;
  busy: boolean;
  stopped: Promise<void>;
}

/** The ingest worker: INGEST_CONCURRENCY sqs-consumer batch consumers writing to Redis. */
export function createWorker(deps: WorkerDeps): Worker {
  const { env, logger } = deps;
  const now = deps.now ?? Date.now;
  const keys = redisKeys(env.REDIS_PREFIX);
  const metrics = createMetrics({ sqs: deps.sqs, queueUrl: env.SQS_QUEUE_URL }, now);
  const budget = createByteBudget(env.INGEST_MAX_INFLIGHT_BYTES);
  const ingest = createIngest({
    store: createEntryStore(deps.redis, keys),
    resolver: createCachedResolver(deps.redis.client, keys, {
      defaultTtlSeconds: env.DEFAULT_TTL_SECONDS,
      maxAgeMs: env.TTL_CACHE_MS,
      now,
    }),
    sqs: deps.sqs,
    dlqUrl: env.SQS_DLQ_URL,
    maxDataBytes: env.MAX_DATA_BYTES,
    maxClockSkewSeconds: env.MAX_CLOCK_SKEW_SECONDS,
    metrics,
    now,
    budget,
    confirmWrites: (webhookKeys) => deps.redis.confirmWrites(webhookKeys.map((k) => keys.entry(k))),
  });

  let lastPoll = now();
  let stopping = false;
  let http: HttpServer | undefined;
  let batchSeq = 0;

  // Receiving stops while Redis does not answer (so an outage burns no receive counts) and while
  // the data held is at its bound; a probe lets it resume once a PING succeeds.
  let redisUp: Promise<void> | undefined;
  let redisOk = false;
  const probeRedis = () => {
    redisUp ??= (async () => {
      for (let attempt = 0; !stopping; attempt++) {
        try {
          await deps.redis.ping();
          redisOk = true;
          if (attempt > 0) logger.info({ attempt }, "redis answers again; receiving resumes");
          return;
        } catch (error) {
          if (attempt === 0 && !stopping)
            logger.warn({ err: error }, "redis not answering; receiving paused");
          metrics.paused.set(1);
          // Waiting for Redis is not a stuck worker: liveness stays green.
          lastPoll = now();
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    })().finally(() => {
      redisUp = undefined;
      metrics.paused.set(0);
    });
    return redisUp;
  };
  const redisFailed = () => {
    if (!redisOk) return;
    redisOk = false;
    void probeRedis();
  };
  const beforeReceive = async () => {
    if (!redisOk) await probeRedis();
    if (budget.full) {
      metrics.paused.set(1);
      await budget.untilFree();
      metrics.paused.set(0);
    }
  };

  const handleBatch = async (messages: Message[]) => {
    const batch = ++batchSeq;
    const stop = metrics.batchDuration.startTimer();
    metrics.inFlight.inc(messages.length);
    metrics.queue.received(messages.map((m) => Number(m.Attributes?.SentTimestamp)));
    try {
      const { acked, counts, errors } = await ingest(messages);
      if (errors.length > 0) redisFailed();
      const durationMs = Math.round(stop() * 1000);
      const line = { batch, size: messages.length, ...counts, durationMs };
      if (errors.length > 0) {
        logger.warn({ ...line, err: errors[0] }, "batch handled; failed messages stay on the queue");
      } else logger.info(line, "batch handled");
      return acked;
    } finally {
      metrics.inFlight.dec(messages.length);
    }
  };

  const slots: Slot[] = Array.from({ length: env.INGEST_CONCURRENCY }, () => {
    const consumer = Consumer.create({
      queueUrl: env.SQS_QUEUE_URL,
      sqs: deps.sqs,
      useQueueUrlAsEndpoint: env.SQS_ENDPOINT === undefined,
      batchSize: env.INGEST_BATCH_SIZE,
      waitTimeSeconds: env.INGEST_WAIT_SECONDS,
      visibilityTimeout: env.INGEST_VISIBILITY_TIMEOUT_SECONDS,
      heartbeatInterval: Math.max(1, Math.floor(env.INGEST_VISIBILITY_TIMEOUT_SECONDS / 3)),
      // SentTimestamp: producedAt when the envelope has none, and the queue-age gauge.
      messageSystemAttributeNames: ["SentTimestamp"],
      messageAttributeNames: ["All"],
      pollingCompleteWaitTimeMs: env.SHUTDOWN_TIMEOUT_MS,
      preReceiveMessageCallback: beforeReceive,
      postReceiveMessageCallback: async () => {
        lastPoll = now();
        metrics.lastPoll.set(lastPoll / 1000);
      },
      handleMessageBatch: async (messages) => {
        slot.busy = true;
        return handleBatch(messages);
      },
    });
    const slot: Slot = {
      consumer,
      busy: false,
      stopped: new Promise((resolve) => consumer.once("stopped", () => resolve())),
    };
    consumer.on("response_processed", () => {
      slot.busy = false;
    });
    consumer.on("error", (error, messages) => {
      if (/delete message failed|Batch operation failed/.test(error.message)) {
        const failed = /Ids: (.*)$/.exec(error.message)?.[1]?.split(", ").length;
        metrics.deleteFailures.inc(failed ?? (Array.isArray(messages) ? messages.length : 1));
        logger.error({ err: error }, "deleting handled messages failed; they will be redelivered");
      } else if (!(stopping && (error as { code?: string }).code === "AbortError")) {
        // Stopping aborts each slot's long poll: that is the stop working, not an error.
        logger.error({ err: error }, "sqs consumer error");
      }
    });
    consumer.on("processing_error", (error) => logger.error({ err: error }, "batch handler failed"));
    return slot;
  });

  const app = opsRoutes(metrics.registry, {
    live: () => {
      const age = (now() - lastPoll) / 1000;
      return age > env.HEALTH_MAX_POLL_AGE_SECONDS
        ? `no successful poll for ${Math.round(age)} s`
        : undefined;
    },
    ready: { redis: () => deps.redis.ping() },
    stopping: () => stopping,
  });

  return {
    metrics,
    get port() {
      return http?.port ?? 0;
    },
    async start() {
      http = await listen(app, env.PORT, env.HOST);
      lastPoll = now();
      for (const slot of slots) slot.consumer.start();
      logger.info(
        { port: http.port, consumers: slots.length, queue: env.SQS_QUEUE_URL },
        "ingest worker started",
      );
    },
    async stop() {
      stopping = true;
      // A consumer that is only long-polling is aborted; one with a batch finishes it first.
      for (const slot of slots) slot.consumer.stop({ abort: !slot.busy });
      await Promise.all(slots.map((s) => s.stopped));
      await http?.close();
    },
  };
}
