import {
  type ArchivedEntryDoc,
  formatInstant,
  HistoryQuerySchema,
  HistoryResponseSchema,
  WebhookKeySchema,
} from "@gsk/schema";
import { ApiError, check } from "@gsk/service";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { Collection, Filter, FindCursor } from "mongodb";
import type { AppEnv } from "../deps.ts";
import { requireScope } from "../http-util.ts";
import { authProblems, jsonContent, pathParam, problems, secured } from "../openapi.ts";

/** Where a page ended: the last version's (producedAt, eventId), the index's order after the key. */
export type Cursor = [producedAtMs: number, eventId: string];

const encodeCursor = (doc: ArchivedEntryDoc): string =>
  Buffer.from(JSON.stringify([doc.producedAt.getTime(), doc.eventId] satisfies Cursor)).toString("base64url");

function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isSafeInteger(value[0]) &&
      typeof value[1] === "string"
    ) {
      return value as Cursor;
    }
  } catch {}
  throw new ApiError("validation", "Invalid query: before: must be the next of a previous page", {
    errors: [{ path: "before", message: "must be the next of a previous page" }],
  });
}

const iso = (d: Date) => formatInstant(d.getTime());

function toVersion(doc: ArchivedEntryDoc) {
  return {
    webhookKey: doc.webhookKey,
    accountId: doc.accountId,
    flowId: doc.flowId,
    data: doc.data,
    eventId: doc.eventId,
    producedAt: iso(doc.producedAt),
    storedAt: iso(doc.storedAt),
    expiresAt: doc.expiresAt === null ? null : iso(doc.expiresAt),
    firstArchivedAt: iso(doc.firstArchivedAt),
    lastArchivedAt: iso(doc.lastArchivedAt),
  };
}

/**
 * The find of one history page (limit + 1 documents, to know whether another page follows): the
 * key by equality, the caller's accounts, and after a cursor the versions that follow it in the
 * index's order (older, or as old with a greater eventId).
 */
export function findHistoryPage(
  archive: Collection<ArchivedEntryDoc>,
  page: { webhookKey: string; accounts: "*" | ReadonlySet<string>; after?: Cursor; limit: number },
): FindCursor<ArchivedEntryDoc> {
  const filter: Filter<ArchivedEntryDoc> = { webhookKey: page.webhookKey };
  if (page.accounts !== "*") filter.accountId = { $in: [...page.accounts] };
  if (page.after) {
    const [producedAtMs, eventId] = page.after;
    const producedAt = new Date(producedAtMs);
    filter.$or = [{ producedAt: { $lt: producedAt } }, { producedAt, eventId: { $gt: eventId } }];
  }
  return archive.find(filter, {
    projection: { _id: 0 },
    sort: { producedAt: -1, eventId: 1 },
    limit: page.limit + 1,
  });
}

/**
 * `GET /v1/data/{webhookKey}/history`: a key's archived versions, newest first (producedAt, then
 * eventId), a page at a time. The query follows the archive's unique index
 * `{ webhookKey: 1, producedAt: -1, eventId: 1 }`: equality on the key, the cursor as a range on
 * what follows, no sort stage. Only mounted when get-api has an archive (MONGO_URL).
 */
export function historyRoutes(archive: Collection<ArchivedEntryDoc>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    "/:webhookKey/history",
    describeRoute({
      ...secured,
      summary: "The archived versions of a webhook key, newest first (data:read; needs MONGO_URL)",
      parameters: [
        pathParam("webhookKey", WebhookKeySchema, "The webhook key", "hook-1"),
        {
          name: "limit",
          in: "query",
          required: false,
          schema: { type: "integer", minimum: 1, maximum: 100, default: 20 },
        },
        {
          name: "before",
          in: "query",
          required: false,
          schema: { type: "string" },
          description: "The `next` of the previous page",
        },
      ],
      responses: {
        200: {
          description: "A page of versions; `next` is null on the last",
          content: jsonContent(HistoryResponseSchema),
        },
        ...problems({
          400: "Invalid webhook key, limit or cursor",
          404: "No archived version (or only other accounts')",
          ...authProblems,
          503: "The archive (MongoDB) is unavailable (Retry-After)",
        }),
      },
    }),
    async (c) => {
      requireScope(c, "data:read");
      const webhookKey = check(WebhookKeySchema, c.req.param("webhookKey"), "webhook key");
      const { limit, before } = check(HistoryQuerySchema, c.req.query(), "query");
      const { deps, principal } = c.var;
      const after = before === undefined ? undefined : decodeCursor(before);
      let docs: ArchivedEntryDoc[];
      try {
        docs = await findHistoryPage(archive, {
          webhookKey,
          accounts: principal.accounts,
          after,
          limit,
        }).toArray();
      } catch (error) {
        deps.logger.warn({ err: error, reqId: c.var.reqId }, "archive read failed");
        throw new ApiError("archive_unavailable", "The archive is unavailable; retry later", {
          headers: { "Retry-After": "5" },
        });
      }
      const page = docs.slice(0, limit);
      if (page.length === 0 && before === undefined) {
        throw new ApiError("not_found", `No archived versions of webhook key ${webhookKey}`);
      }
      const last = page.at(-1);
      return c.json({
        versions: page.map(toVersion),
        next: docs.length > limit && last ? encodeCursor(last) : null,
      });
    },
  );
  return app;
}
