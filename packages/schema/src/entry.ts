import { createHash } from "node:crypto";
import * as v from "valibot";
import { EventIdSchema, IdSchema, WebhookKeySchema } from "./envelope.ts";

const CanonicalInstant = v.pipe(
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

/** The fields of an entry other than `data`. */
export type EntryMeta = Omit<StoredEntry, "data">;

/**
 * The start of an entry's API JSON, `{"webhookKey":"…",`: the only part that differs between the
 * entries of one message, so the rest (`entryTail`) is built once however many keys it names.
 */
export function entryHead(webhookKey: string): string {
  return `{"webhookKey":${JSON.stringify(webhookKey)},`;
}

/** The rest of an entry's API JSON after `entryHead`, with `data` given already serialized. */
export function entryTail(meta: Omit<EntryMeta, "webhookKey">, dataJson: string): string {
  return (
    `"accountId":${JSON.stringify(meta.accountId)},"flowId":${JSON.stringify(meta.flowId)},` +
    `"data":${dataJson},"eventId":${JSON.stringify(meta.eventId)},` +
    `"producedAt":"${meta.producedAt}","storedAt":"${meta.storedAt}",` +
    `"expiresAt":${meta.expiresAt === null ? "null" : `"${meta.expiresAt}"`}}`
  );
}

/** A strong ETag of an entry's JSON (head then tail), computed once when the entry is written. */
export function entryEtag(head: string, tail: string): string {
  return `"${createHash("sha256").update(head).update(tail).digest("base64url").slice(0, 27)}"`;
}
