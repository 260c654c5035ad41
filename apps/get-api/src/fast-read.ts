import type { IncomingMessage, ServerResponse } from "node:http";
import { WebhookKeySchema } from "@gsk/schema";
import { bearerToken, canSeeAccount, tracingEnabled } from "@gsk/service";
import * as v from "valibot";
import type { Deps } from "./deps.ts";
import { entryAnswer } from "./http-util.ts";
import { createObserver, requestId } from "./observe.ts";

const PREFIX = "/v1/data/";
const ROUTE = "/v1/data/:webhookKey";

/**
 * `GET /v1/data/{webhookKey}` answered on node:http itself, for a found entry (200 or 304): the
 * hot path, without the framework's per-request objects. Anything else (no or bad token, missing
 * scope, invalid key, no entry, Redis failing, a query string) returns false and the Hono app
 * answers it, exactly as it answers every other route. Same auth, headers, metrics and logs.
 */
export function createFastRead(deps: Deps) {
  const observe = createObserver(deps);
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = req.url;
    // With tracing on, reads go through the app, whose middleware makes their spans.
    if (req.method !== "GET" || url === undefined || !url.startsWith(PREFIX) || tracingEnabled())
      return false;
    const webhookKey = url.slice(PREFIX.length);
    if (!v.is(WebhookKeySchema, webhookKey)) return false;
    const principal = deps.auth.authenticate(bearerToken(req.headers.authorization));
    if (!principal?.scopes.has("data:read")) return false;
    const started = performance.now();
    let record: Awaited<ReturnType<Deps["entries"]["read"]>>;
    try {
      record = await deps.entries.read(webhookKey);
    } catch {
      return false;
    }
    if (!record || !canSeeAccount(principal, record.accountId)) return false;
    const reqId = requestId(req.headers["x-request-id"] as string | undefined);
    const { status, headers, body } = entryAnswer(record, req.headers["if-none-match"]);
    headers["X-Request-Id"] = reqId;
    res.writeHead(status, headers).end(body ?? undefined);
    observe({
      reqId,
      route: ROUTE,
      method: "GET",
      path: url,
      status,
      seconds: (performance.now() - started) / 1000,
      principal: principal.id,
    });
    return true;
  };
}
