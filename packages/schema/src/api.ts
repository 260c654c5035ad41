import * as v from "valibot";
import { StoredEntrySchema } from "./entry.ts";
import { IdSchema, jsonObject, WebhookKeySchema } from "./envelope.ts";

/** `POST /v1/data/batch` body. */
export const BatchRequestSchema = jsonObject({
  webhookKeys: v.pipe(
    v.array(WebhookKeySchema, "must be an array of webhook keys"),
    v.minLength(1, "must name at least one webhook key"),
    v.maxLength(100, "must name at most 100 webhook keys"),
  ),
});

/** `POST /v1/data/batch` answer. */
export const BatchResponseSchema = v.object({
  entries: v.array(StoredEntrySchema),
  missing: v.array(v.string()),
});

/** Path parameters of the TTL admin routes. */
export const AccountParamSchema = v.object({ accountId: IdSchema });
export const FlowParamSchema = v.object({ accountId: IdSchema, flowId: IdSchema });

/** Query of `GET /v1/ttl-policies/effective`. */
export const EffectiveQuerySchema = v.object({ accountId: IdSchema, flowId: IdSchema });

/** `GET /v1/ttl-policies/effective` answer. */
export const EffectiveTtlSchema = v.object({
  ttlSeconds: v.nullable(v.number()),
  source: v.picklist(["flow", "account", "default"]),
});

/** Gateway-mode `POST /v1/data` answer. */
export const AcceptedSchema = v.object({ messageId: v.string(), eventId: v.string() });

/** An RFC 9457 problem body. */
export const ProblemSchema = v.object({
  type: v.string(),
  title: v.string(),
  status: v.number(),
  detail: v.string(),
  errors: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
});

/** `POST /admin/erasures` body (the archiver): an account's data, or one flow's, or listed keys'. */
export const ErasureRequestSchema = jsonObject({
  accountId: IdSchema,
  flowId: v.optional(IdSchema),
  webhookKeys: v.optional(
    v.pipe(
      v.array(WebhookKeySchema, "must be an array of webhook keys"),
      v.minLength(1, "must name at least one webhook key"),
      v.maxLength(1000, "must name at most 1000 webhook keys"),
    ),
  ),
});

export type ErasureRequest = v.InferOutput<typeof ErasureRequestSchema>;
