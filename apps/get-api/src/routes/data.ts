import { randomUUID } from "node:crypto";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import {
  BatchRequestSchema,
  createEnvelopeSchema,
  formatInstant,
  parseMessage,
  WebhookKeySchema,
} from "@gsk/schema";
import { ApiError, canSeeAccount } from "@gsk/service";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../deps.ts";
import { check, etagMatches, jsonBody, requireScope, withRedis } from "../http-util.ts";

const tooLarge = (limit: number) => () => {
  throw new ApiError(413, "too_large", `The request body is larger than ${limit} bytes`);
};

/** `/v1/data`: reads by webhook key, batch reads, and gateway-mode ingress. */
export function dataRoutes(maxDataBytes: number): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const envelopeSchema = createEnvelopeSchema(maxDataBytes);
  // The envelope around `data` is small: ids, up to 100 keys of 128 characters, two timestamps.
  const ingressLimit = maxDataBytes + 64 * 1024;

  app.get("/:webhookKey", async (c) => {
    requireScope(c, "data:read");
    const webhookKey = check(WebhookKeySchema, c.req.param("webhookKey"), "webhook key");
    const { deps } = c.var;
    const record = await withRedis(deps, () => deps.entries.read(webhookKey));
    if (!record || !canSeeAccount(c.var.principal, record.accountId)) {
      throw new ApiError(404, "not_found", `No data for webhook key ${webhookKey}`);
    }
    const headers = { ETag: record.etag, "Cache-Control": "private, no-cache" };
    if (etagMatches(c.req.header("if-none-match"), record.etag)) return c.body(null, 304, headers);
    return c.body(record.body, 200, { ...headers, "Content-Type": "application/json" });
  });

  app.post("/batch", async (c) => {
    requireScope(c, "data:read");
    const { webhookKeys } = check(BatchRequestSchema, await jsonBody(c), "batch request");
    const { deps, principal } = c.var;
    const unique = [...new Set(webhookKeys)];
    const records = await withRedis(deps, () => Promise.all(unique.map((k) => deps.entries.read(k))));
    const found: string[] = [];
    const missing: string[] = [];
    records.forEach((record, i) => {
      if (record && canSeeAccount(principal, record.accountId)) found.push(record.body);
      else missing.push(unique[i] as string);
    });
    return c.body(`{"entries":[${found.join(",")}],"missing":${JSON.stringify(missing)}}`, 200, {
      "Content-Type": "application/json",
    });
  });

  app.post("/", bodyLimit({ maxSize: ingressLimit, onError: tooLarge(ingressLimit) }), async (c) => {
    const { deps } = c.var;
    if (!deps.env.INGRESS_ENABLED || !deps.sqs || !deps.env.SQS_QUEUE_URL) {
      throw new ApiError(404, "not_found", "Ingress is disabled on this deployment (INGRESS_ENABLED=false)");
    }
    requireScope(c, "data:write");
    const parsed = parseMessage(envelopeSchema, await c.req.text());
    if (!parsed.ok) {
      deps.metrics.ingress.inc({ result: parsed.code });
      if (parsed.code === "data_too_large")
        throw new ApiError(413, "too_large", parsed.detail, { errors: parsed.errors });
      throw new ApiError(400, parsed.code === "invalid_json" ? "invalid_json" : "validation", parsed.detail, {
        errors: parsed.errors,
      });
    }
    const envelope = parsed.envelope;
    if (!canSeeAccount(c.var.principal, envelope.accountId)) {
      throw new ApiError(403, "forbidden", `This token may not write for account ${envelope.accountId}`);
    }
    const message = {
      ...envelope,
      producedAt: envelope.producedAt ?? formatInstant(deps.now()),
      eventId: envelope.eventId ?? randomUUID(),
    };
    let messageId: string | undefined;
    try {
      const out = await deps.sqs.send(
        new SendMessageCommand({ QueueUrl: deps.env.SQS_QUEUE_URL, MessageBody: JSON.stringify(message) }),
      );
      messageId = out.MessageId;
    } catch (error) {
      deps.metrics.ingress.inc({ result: "sqs_unavailable" });
      deps.logger.warn({ err: error }, "sqs send failed");
      throw new ApiError(503, "queue_unavailable", "The queue did not accept the message; retry later", {
        headers: { "Retry-After": "5" },
      });
    }
    deps.metrics.ingress.inc({ result: "accepted" });
    return c.json({ messageId, eventId: message.eventId }, 202);
  });

  return app;
}
