import { randomUUID } from "node:crypto";
import { bearerToken, bodyLimitOf, errorHandler, opsRoutes, problemResponse } from "@gsk/service";
import { Hono } from "hono";
import type { AppEnv, Deps } from "./deps.ts";
import { docsPage, openApiDocument } from "./openapi.ts";
import { dataRoutes } from "./routes/data.ts";
import { ttlPolicyRoutes } from "./routes/ttl-policies.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const DEFAULT_BODY_LIMIT = 64 * 1024;

const unauthorized = () =>
  problemResponse("unauthorized", "A valid bearer token is required", {
    headers: { "WWW-Authenticate": 'Bearer realm="gsk"' },
  });

/** The get-api Hono app, built from its dependencies (no module state). */
export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const document = JSON.stringify(openApiDocument(deps.env));
  const docs = docsPage();

  // A request answered before its body was read (401, 413, ...) closes its connection: the unread
  // rest of the body would otherwise be taken for the next request of a keep-alive client.
  app.use("*", async (c, next) => {
    await next();
    const length = c.req.header("content-length");
    const hasBody =
      (length !== undefined && length !== "0") || c.req.header("transfer-encoding") !== undefined;
    if (hasBody && !c.req.raw.bodyUsed) c.res.headers.set("Connection", "close");
  });
  app.use("*", async (c, next) => {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const reqId = given && REQUEST_ID.test(given) ? given : randomUUID();
    c.set("reqId", reqId);
    c.set("deps", deps);
    c.header("X-Request-Id", reqId);
    await next();
    if (!c.res.headers.has("x-request-id")) c.res.headers.set("X-Request-Id", reqId);
    const seconds = (performance.now() - started) / 1000;
    const route = c.req.routePath === "/*" || !c.req.routePath ? "unmatched" : c.req.routePath;
    deps.metrics.requests.inc({ route, method: c.req.method, status: String(c.res.status) });
    deps.metrics.duration.observe({ route }, seconds);
    deps.logger.info(
      {
        reqId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round(seconds * 10_000) / 10,
        principal: c.get("principal")?.id,
      },
      "request",
    );
  });

  app.route(
    "/",
    opsRoutes(deps.metrics.registry, {
      ready: { redis: () => deps.redis.ping() },
      stopping: () => deps.lifecycle.shuttingDown,
    }),
  );
  app.get("/openapi.json", (c) => c.body(document, 200, { "Content-Type": "application/json" }));
  app.get("/docs", (c) => c.html(docs));

  const v1 = new Hono<AppEnv>();
  v1.use("*", async (c, next) => {
    const principal = deps.auth.authenticate(bearerToken(c.req.header("authorization")));
    if (!principal) return unauthorized();
    c.set("principal", principal);
    await next();
  });
  const limit = bodyLimitOf(DEFAULT_BODY_LIMIT);
  // GET and HEAD carry no body; POST /v1/data has its own, larger limit.
  v1.use("*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.path === "/v1/data") return next();
    return limit(c, next);
  });
  v1.route("/data", dataRoutes(deps.env, deps.now));
  v1.route("/ttl-policies", ttlPolicyRoutes());
  app.route("/v1", v1);

  app.notFound((c) => {
    if (!deps.auth.authenticate(bearerToken(c.req.header("authorization")))) return unauthorized();
    return problemResponse("not_found", `No route ${c.req.method} ${c.req.path}`);
  });
  app.onError(errorHandler(deps.logger));
  return app;
}
