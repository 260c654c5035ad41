import * as v from "valibot";
import { CanonicalInstant, StoredEntrySchema } from "./entry.ts";

/** One archived version of an entry, as the archive's `entries` collection holds it (dates as BSON dates). */
export interface ArchivedEntryDoc {
  webhookKey: string;
  accountId: string;
  flowId: string;
  data: unknown;
  eventId: string;
  producedAt: Date;
  storedAt: Date;
  expiresAt: Date | null;
  firstArchivedAt: Date;
  lastArchivedAt: Date;
  runId: string;
}

/** A version in `GET /v1/data/{webhookKey}/history`: the entry, and when runs saw it first and last. */
export const ArchivedVersionSchema = v.object({
  ...StoredEntrySchema.entries,
  firstArchivedAt: CanonicalInstant,
  lastArchivedAt: CanonicalInstant,
});

export const HistoryResponseSchema = v.object({
  versions: v.array(ArchivedVersionSchema),
  next: v.nullable(v.string()),
});

/** `limit` 1-100 (default 20) and `before`, the `next` of the previous page. */
export const HistoryQuerySchema = v.object({
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, "must be a whole number"),
      v.transform(Number),
      v.minValue(1, "must be at least 1"),
      v.maxValue(100, "must be at most 100"),
    ),
    "20",
  ),
  before: v.optional(
    v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,400}$/, "must be the next of a previous page")),
  ),
});

/** The archive's collection of entry versions. */
export const ENTRIES_COLLECTION = "entries";
