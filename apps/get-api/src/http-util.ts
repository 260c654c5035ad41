import type { Scope } from "@gsk/schema";
import { ApiError } from "@gsk/service";
import type { Context } from "hono";
import type { AppEnv, Deps } from "./deps.ts";

/** Runs a Redis call; an outage becomes 503 with Retry-After. */
export async function withRedis<T>(deps: Deps, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    deps.metrics.redisErrors.inc();
    deps.logger.warn({ err: error }, "redis call failed");
    throw new ApiError("redis_unavailable", "The data store is unavailable; retry later", {
      headers: { "Retry-After": "5" },
    });
  }
}

/** Fails with 403 unless the caller's token has `scope`. */
export function requireScope(c: Context<AppEnv>, scope: Scope) {
  if (!c.var.principal.scopes.has(scope)) {
    throw new ApiError("forbidden", `This token lacks the scope ${scope}`);
  }
}

/** Whether an `If-None-Match` header matches an ETag (weak comparison, as RFC 9110 says). */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  const bare = etag.replace(/^W\//, "");
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === bare);
}

/** The answer to a read of a found entry, the same on both read paths: 304 or 200 with its JSON. */
export function entryAnswer(
  record: { body: string; etag: string },
  ifNoneMatch: string | undefined,
): { status: 200 | 304; headers: Record<string, string>; body: string | null } {
  const headers: Record<string, string> = { ETag: record.etag, "Cache-Control": "private, no-cache" };
  if (etagMatches(ifNoneMatch, record.etag)) return { status: 304, headers, body: null };
  headers["Content-Type"] = "application/json";
  // A known length sends the answer as one buffer, where chunked framing takes four.
  headers["Content-Length"] = String(Buffer.byteLength(record.body));
  return { status: 200, headers, body: record.body };
}
