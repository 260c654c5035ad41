import type { IncomingMessage, ServerResponse } from "node:http";
import { WebhookKeySchema } from "@gsk/schema";
import { canSeeAccount, connectionAuthenticator, type FastPath, tracingEnabled } from "@gsk/service";
import * as v from "valibot";
import type { Deps } from "./deps.ts";
import { entryAnswer } from "./http-util.ts";
import { createObserver, requestId } from "./observe.ts";

const PREFIX = "/v1/data/";
const ROUTE = "/v1/data/:webhookKey";

/**
 * `GET /v1/data/{webhookKey}` answered on node:http itself, for a found entry (200 or 304): the
 * hot path, without the framework's per-request objects. Anything else (no or bad token, missing
 * scope, invalid key, no entry, Redis failing, a query string) goes to the Hono app, which answers
 * it exactly as it answers every other route. Same auth, headers, metrics and logs.
 */
export function createFastRead(deps: Deps): FastPath {
  const observe = createObserver(deps);
  const authenticate = connectionAuthenticator(deps.auth);
  return (req: IncomingMessage, res: ServerResponse, toApp: () => void) => {
    const url = req.url;
    // With tracing on, reads go through the app, whose middleware makes their spans.
    if (req.method !== "GET" || url === undefined || !url.startsWith(PREFIX) || tracingEnabled())
      return toApp();
    const webhookKey = url.slice(PREFIX.length);
    if (!v.is(WebhookKeySchema, webhookKey)) return toApp();
    const principal = authenticate(req.socket, req.headers.authorization);
    if (!principal?.scopes.has("data:read")) return toApp();
    const started = performance.now();
    deps.entries
      .read(webhookKey)
      .then((record) => {
        if (!record || !canSeeAccount(principal, record.accountId)) return toApp();
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
      }, toApp)
      .catch((error: unknown) => {
        // Not expected (the answer is built from what was stored); the request still gets one.
        deps.logger.error({ err: error }, "fast read failed");
        if (res.headersSent) res.destroy();
        else toApp();
      });
  };
}
