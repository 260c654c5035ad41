import * as v from "valibot";
import { EventIdSchema, IdSchema, WebhookKeySchema } from "./envelope.ts";

export const CanonicalInstant = v.pipe(
  v.string(),
  v.isoTimestamp("must be a UTC instant like 2026-01-02T03:04:05.678Z"),
  v.check((s) => s.endsWith("Z") && s.length === 24, "must be a UTC instant like 2026-01-02T03:04:05.678Z"),
);

/** An entry as stored in Redis, returned by the API and archived. */
export const StoredEntrySchema = v.object({
  webhookKey: WebhookKeySchema,
  accountId: IdSchema,
  flowId: IdSchema,
  data: v.unknown(),
  eventId: EventIdSchema,
  producedAt: CanonicalInstant,
  storedAt: CanonicalInstant,
  expiresAt: v.nullable(CanonicalInstant),
});

export type StoredEntry = v.InferOutput<typeof StoredEntrySchema>;
