import {
  bearerToken,
  bodyLimitOf,
  contextFrom,
  errorHandler,
  inSpan,
  opsRoutes,
  problemResponse,
  tracingEnabled,
} from "@gsk/service";
import { SpanKind } from "@opentelemetry/api";
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { AppEnv, Deps } from "./deps.ts";
import { createObserver, requestId } from "./observe.ts";
import { docsPage, openApiDocument, scalarScript } from "./openapi.ts";
import { dataRoutes } from "./routes/data.ts";
import { historyRoutes } from "./routes/history.ts";
import { ttlPolicyRoutes } from "./routes/ttl-policies.ts";

const DEFAULT_BODY_LIMIT = 64 * 1024;
const unauthorized = () =>
  problemResponse("unauthorized", "A valid bearer token is required", {
    headers: { "WWW-Authenticate": 'Bearer realm="gsk"' },
  });

/** The get-api Hono app, built from its dependencies (no module state). */
export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const docs = docsPage();
  let document: Promise<string> | undefined;
  let script: string | undefined;

  const observe = createObserver(deps);

  // With tracing on (started before the app is built), each request is a server span continuing
  // the caller's traceparent; off, there is no such middleware at all.
  if (tracingEnabled()) {
    app.use("*", (c, next) =>
      inSpan(
        `${c.req.method} ${c.req.path}`,
        () => ({
          kind: SpanKind.SERVER,
          parent: contextFrom({
            traceparent: c.req.header("traceparent"),
            tracestate: c.req.header("tracestate"),
          }),
          attributes: { "http.request.method": c.req.method, "url.path": c.req.path },
        }),
        async (span) => {
          await next();
          span.setAttribute("http.response.status_code", c.res.status);
          if (c.req.routePath) span.updateName(`${c.req.method} ${c.req.routePath}`);
        },
      ),
    );
  }

  // One wrapper per request: request id, metrics, the access log and Connection: close.
  app.use("*", async (c, next) => {
    const started = performance.now();
    const reqId = requestId(c.req.header("x-request-id"));
    c.set("reqId", reqId);
    c.set("deps", deps);
    c.header("X-Request-Id", reqId);
    await next();
    const res = c.res;
    if (!res.headers.has("x-request-id")) res.headers.set("X-Request-Id", reqId);
    // A request answered before its body was read (401, 413, ...) closes its connection: the
    // unread rest of the body would otherwise be taken for the next request of a keep-alive client.
    const length = c.req.header("content-length");
    const hasBody =
      (length !== undefined && length !== "0") || c.req.header("transfer-encoding") !== undefined;
    if (hasBody && !c.req.raw.bodyUsed) res.headers.set("Connection", "close");

    observe({
      reqId,
      route: c.req.routePath === "/*" || !c.req.routePath ? "unmatched" : c.req.routePath,
      method: c.req.method,
      path: c.req.path,
      status: res.status,
      seconds: (performance.now() - started) / 1000,
      principal: c.get("principal")?.id,
    });
  });

  app.route(
    "/",
    opsRoutes(deps.metrics.registry, {
      ready: { redis: () => deps.redis.ping() },
      stopping: () => deps.lifecycle.shuttingDown,
    }),
  );
  // Generated once, on first request, from the descriptions the routes carry.
  app.get(
    "/openapi.json",
    describeRoute({ summary: "This document", responses: { 200: { description: "OpenAPI 3.1" } } }),
    async (c) => {
      document ??= openApiDocument(app as never).then((doc) => JSON.stringify(doc));
      return c.body(await document, 200, { "Content-Type": "application/json" });
    },
  );
  app.get(
    "/docs",
    describeRoute({
      summary: "The API reference: try the API with your token",
      responses: { 200: { description: "HTML" } },
    }),
    (c) => c.html(docs),
  );
  app.get("/docs/scalar.js", (c) => {
    script ??= scalarScript();
    return c.body(script, 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=86400",
    });
  });

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
  // Without MONGO_URL there is no archive to read: the route does not exist (404).
  if (deps.archive) v1.route("/data", historyRoutes(deps.archive));
  v1.route("/ttl-policies", ttlPolicyRoutes());
  app.route("/v1", v1);

  app.notFound((c) => {
    if (!deps.auth.authenticate(bearerToken(c.req.header("authorization")))) return unauthorized();
    return problemResponse("not_found", `No route ${c.req.method} ${c.req.path}`);
  });
  app.onError(errorHandler(deps.logger));
  return app;
}
