import { randomUUID } from "node:crypto";
import { type MessageAttributeValue, SendMessageCommand } from "@aws-sdk/client-sqs";
import {
  AcceptedSchema,
  BatchRequestSchema,
  BatchResponseSchema,
  createMessageParser,
  envelopeJsonSchema,
  formatInstant,
  type RejectCode,
  StoredEntrySchema,
  WebhookKeySchema,
} from "@gsk/schema";
import {
  ApiError,
  bodyLimitOf,
  canSeeAccount,
  check,
  currentCarrier,
  jsonBody,
  type ProblemCode,
} from "@gsk/service";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { AppEnv, Deps } from "../deps.ts";
import { entryAnswer, requireScope, withRedis } from "../http-util.ts";
import { authProblems, jsonContent, pathParam, problems, secured } from "../openapi.ts";

/** The problem a gateway-mode POST answers for each reason a message is refused. */
const REJECTED: Record<Exclude<RejectCode, "account_conflict">, ProblemCode> = {
  invalid_json: "invalid_json",
  invalid_envelope: "validation",
  data_too_large: "too_large",
  produced_in_future: "produced_in_future",
};

/** How many keys of a batch read are read (and held) at a time. */
const BATCH_GROUP = 25;

/**
 * Up to this many characters of entries a batch answer is built whole, in one write; beyond, the
 * rest streams a group at a time.
 */
const BATCH_WHOLE_CHARS = 1 << 20;

/** SQS's answers that refuse this message itself: retrying it cannot help. */
function refusal(error: unknown): ApiError | undefined {
  // Named "InvalidMessageContents" or, in the query protocol, "AWS.SimpleQueueService.InvalidMessageContents".
  const name = ((error as { name?: string }).name ?? "").replace(/^.*\./, "");
  const text = error instanceof Error ? error.message : "";
  if (name === "InvalidMessageContents") {
    return new ApiError("invalid_message_contents", `The queue refused the message: ${text}`);
  }
  if (/^InvalidParameterValue/.test(name) && /shorter than|too long|size/i.test(text)) {
    return new ApiError("too_large", `The queue refused the message as too large: ${text}`);
  }
  return undefined;
}

/** Whether SQS could not be reached, or throttled: worth retrying later. */
function isTransient(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = (error as { name?: string }).name ?? "";
  return status === undefined || status >= 500 || /Throttl|RequestThrottled|OverLimit/i.test(name);
}

/** The current trace context as SQS message attributes (none when tracing is off). */
function traceAttributes(): Record<string, MessageAttributeValue> | undefined {
  const carrier = currentCarrier();
  const entries = Object.entries(carrier).filter(([, value]) => value);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([name, value]) => [name, { DataType: "String", StringValue: value }]),
  );
}

/** `/v1/data`: reads by webhook key, batch reads, and gateway-mode ingress. */
export function dataRoutes(env: Deps["env"], now: () => number): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const maxDataBytes = env.MAX_DATA_BYTES;
  const parse = createMessageParser({ maxDataBytes, maxClockSkewSeconds: env.MAX_CLOCK_SKEW_SECONDS, now });
  // The envelope around `data` is small: ids, up to 100 keys of 128 characters, two timestamps.
  const ingressLimit = maxDataBytes + 64 * 1024;

  app.get(
    "/:webhookKey",
    describeRoute({
      ...secured,
      summary: "Read the entry of a webhook key (data:read)",
      parameters: [
        pathParam("webhookKey", WebhookKeySchema, "The webhook key", "hook-1"),
        { name: "If-None-Match", in: "header", required: false, schema: { type: "string" } },
      ],
      responses: {
        200: {
          description: "The entry",
          headers: { ETag: { schema: { type: "string" } } },
          content: jsonContent(StoredEntrySchema),
        },
        304: { description: "Not modified (If-None-Match matched)" },
        ...problems({ 400: "Invalid webhook key", 404: "No entry (or another account's)", ...authProblems }),
      },
    }),
    async (c) => {
      requireScope(c, "data:read");
      const webhookKey = check(WebhookKeySchema, c.req.param("webhookKey"), "webhook key");
      const { deps } = c.var;
      const record = await withRedis(deps, () => deps.entries.read(webhookKey));
      if (!record || !canSeeAccount(c.var.principal, record.accountId)) {
        throw new ApiError("not_found", `No data for webhook key ${webhookKey}`);
      }
      const answer = entryAnswer(record, c.req.header("if-none-match"));
      return answer.body === null
        ? c.body(null, 304, answer.headers)
        : c.body(answer.body, 200, answer.headers);
    },
  );

  app.delete(
    "/:webhookKey",
    describeRoute({
      ...secured,
      summary:
        "Delete the live entry of a webhook key, freeing the key (data:delete); the archive keeps its versions",
      parameters: [pathParam("webhookKey", WebhookKeySchema, "The webhook key", "hook-1")],
      responses: {
        204: { description: "Deleted" },
        ...problems({
          400: "Invalid webhook key",
          404: "No live entry (or another account's)",
          ...authProblems,
        }),
      },
    }),
    async (c) => {
      requireScope(c, "data:delete");
      const webhookKey = check(WebhookKeySchema, c.req.param("webhookKey"), "webhook key");
      const { deps, principal } = c.var;
      const deleted = await withRedis(deps, () => deps.entries.remove(webhookKey, principal.accounts));
      if (!deleted) throw new ApiError("not_found", `No data for webhook key ${webhookKey}`);
      deps.logger.info({ reqId: c.var.reqId, principal: principal.id, webhookKey }, "entry deleted");
      return c.body(null, 204);
    },
  );

  app.post(
    "/batch",
    describeRoute({
      ...secured,
      summary: "Read up to 100 webhook keys (data:read)",
      requestBody: { required: true, content: jsonContent(BatchRequestSchema) },
      responses: {
        200: { description: "Entries found and keys missing", content: jsonContent(BatchResponseSchema) },
        ...problems({ 400: "Invalid body", ...authProblems }),
      },
    }),
    async (c) => {
      requireScope(c, "data:read");
      const { webhookKeys } = check(BatchRequestSchema, await jsonBody(c), "batch request");
      const { deps, principal } = c.var;
      const unique = [...new Set(webhookKeys)];
      const missing: string[] = [];
      const readGroup = async (from: number) => {
        const group = unique.slice(from, from + BATCH_GROUP);
        const records = await Promise.all(group.map((key) => deps.entries.read(key)));
        const found: string[] = [];
        records.forEach((record, i) => {
          if (record && canSeeAccount(principal, record.accountId)) found.push(record.body);
          else missing.push(group[i] as string);
        });
        return found;
      };
      // Groups are read until their entries pass BATCH_WHOLE_CHARS: a batch within it, the usual
      // one, is answered in one piece, and a Redis failure during any group is still a 503.
      const gathered: string[] = [];
      let size = 0;
      let next = 0;
      while (next < unique.length && size <= BATCH_WHOLE_CHARS) {
        const from = next;
        for (const body of await withRedis(deps, () => readGroup(from))) {
          gathered.push(body);
          size += body.length;
        }
        next += BATCH_GROUP;
      }
      const headers = { "Content-Type": "application/json" };
      if (next >= unique.length) {
        return c.body(
          `{"entries":[${gathered.join(",")}],"missing":${JSON.stringify(missing)}}`,
          200,
          headers,
        );
      }
      // A larger answer streams the rest a group at a time, so one request never holds every entry
      // at once. A Redis failure from here on can only cut the response short (logged, counted).
      // Its first chunk holds entries (past BATCH_WHOLE_CHARS), so every later group follows a comma.
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            controller.enqueue(encoder.encode(`{"entries":[${gathered.join(",")}`));
            gathered.length = 0;
          },
          async pull(controller) {
            if (next >= unique.length) {
              controller.enqueue(encoder.encode(`],"missing":${JSON.stringify(missing)}}`));
              controller.close();
              return;
            }
            try {
              const found = await readGroup(next);
              next += BATCH_GROUP;
              if (found.length === 0) return;
              controller.enqueue(encoder.encode(`,${found.join(",")}`));
            } catch (error) {
              deps.metrics.redisErrors.inc();
              deps.logger.warn(
                { err: error, reqId: c.var.reqId },
                "redis failed during a batch read; response cut",
              );
              controller.error(error);
            }
          },
        },
        { highWaterMark: 0 },
      );
      return c.body(stream, 200, headers);
    },
  );

  app.post(
    "/",
    describeRoute({
      ...secured,
      summary: "Gateway mode only (INGRESS_ENABLED=true): queue an envelope (data:write)",
      requestBody: {
        required: true,
        content: { "application/json": { schema: envelopeJsonSchema(maxDataBytes) as never } },
      },
      responses: {
        202: { description: "SQS accepted the message", content: jsonContent(AcceptedSchema) },
        ...problems({
          400: "Invalid envelope (every problem listed), producedAt in the future, or characters SQS refuses",
          404: "Gateway mode is off (INGRESS_ENABLED=false)",
          409: "A webhook key holds another account's live entry",
          413: "Body or data too large (also when SQS refuses the message for its size)",
          500: "SQS refused the request (not this message): it was not accepted",
          ...authProblems,
          503: "SQS is unreachable or throttling (Retry-After)",
        }),
      },
    }),
    bodyLimitOf(ingressLimit),
    async (c) => {
      const { deps } = c.var;
      if (!deps.env.INGRESS_ENABLED || !deps.sqs || !deps.env.SQS_QUEUE_URL) {
        throw new ApiError("not_found", "Ingress is disabled on this deployment (INGRESS_ENABLED=false)");
      }
      requireScope(c, "data:write");
      const parsed = parse(await c.req.text());
      if (!parsed.ok) {
        deps.metrics.ingress.inc({ result: parsed.code });
        const code = REJECTED[parsed.code];
        throw new ApiError(code, parsed.detail, { errors: parsed.errors });
      }
      const envelope = parsed.envelope;
      if (!canSeeAccount(c.var.principal, envelope.accountId)) {
        throw new ApiError("forbidden", `This token may not write for account ${envelope.accountId}`);
      }
      // The worker refuses these keys too (account_conflict); saying so now spares a dead letter.
      const owners = await withRedis(deps, () => deps.entries.owners(envelope.webhookKeys));
      const held = envelope.webhookKeys.filter(
        (_, i) => owners[i] != null && owners[i] !== envelope.accountId,
      );
      if (held.length > 0) {
        deps.metrics.ingress.inc({ result: "account_conflict" });
        throw new ApiError(
          "account_conflict",
          `Webhook keys held by another account's live entry: ${held.join(", ")}`,
        );
      }
      const message = {
        ...envelope,
        producedAt: envelope.producedAt ?? formatInstant(now()),
        eventId: envelope.eventId ?? randomUUID(),
      };
      let messageId: string | undefined;
      try {
        const out = await deps.sqs.send(
          new SendMessageCommand({
            QueueUrl: deps.env.SQS_QUEUE_URL,
            MessageBody: JSON.stringify(message),
            // The trace continues in the worker (W3C trace context as message attributes).
            MessageAttributes: traceAttributes(),
          }),
        );
        messageId = out.MessageId;
      } catch (error) {
        const refused = refusal(error);
        if (refused) {
          deps.metrics.ingress.inc({ result: "sqs_refused" });
          throw refused;
        }
        if (!isTransient(error)) {
          deps.metrics.ingress.inc({ result: "sqs_error" });
          deps.logger.error({ err: error }, "sqs refused the request");
          throw new ApiError("queue_error", "The queue refused the request; the message was not accepted");
        }
        deps.metrics.ingress.inc({ result: "sqs_unavailable" });
        deps.logger.warn({ err: error }, "sqs send failed");
        throw new ApiError("queue_unavailable", "The queue did not accept the message; retry later", {
          headers: { "Retry-After": "5" },
        });
      }
      deps.metrics.ingress.inc({ result: "accepted" });
      return c.json({ messageId, eventId: message.eventId }, 202);
    },
  );

  return app;
}
