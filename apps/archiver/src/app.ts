import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { HonoAdapter } from "@bull-board/hono";
import { ErasureRequestSchema } from "@gsk/schema";
import {
  ApiError,
  type Authenticator,
  basicPassword,
  bearerToken,
  bodyLimitOf,
  check,
  errorHandler,
  type HealthChecks,
  jsonBody,
  type Logger,
  opsRoutes,
  type Principal,
  problemResponse,
} from "@gsk/service";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Queue } from "bullmq";
import { Hono } from "hono";
import { enqueueErasure, enqueueManualRun } from "./jobs.ts";
import type { ArchiveMetrics } from "./metrics.ts";

export interface AppDeps {
  queue: Queue;
  auth: Authenticator;
  metrics: ArchiveMetrics;
  logger: Logger;
  boardReadOnly: boolean;
  /** A readiness check per dependency (Redis, MongoDB). */
  ready: HealthChecks["ready"];
  stopping: () => boolean;
}

/** Whether a request comes from a page of another site (a browser says so in Origin or Sec-Fetch-Site). */
function isCrossSite(header: (name: string) => string | undefined): boolean {
  if (header("sec-fetch-site") === "cross-site") return true;
  const origin = header("origin");
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== header("host");
  } catch {
    return true;
  }
}

const BOARD = "/admin/queues";

/** The caller, when its token has `archive:admin`; throws 401 (with `challenge`) or 403 otherwise. */
function authorize(principal: Principal | undefined, challenge: string): Principal {
  if (!principal) {
    throw new ApiError("unauthorized", "A valid token is required", {
      headers: { "WWW-Authenticate": challenge },
    });
  }
  if (!principal.scopes.has("archive:admin")) {
    throw new ApiError("forbidden", "This token lacks the scope archive:admin");
  }
  return principal;
}

/** The archiver's HTTP app: health, metrics, the manual-run route and bull-board, all but health behind auth. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.route("/", opsRoutes(deps.metrics.registry, { ready: deps.ready, stopping: deps.stopping }));

  app.post("/admin/archive/runs", async (c) => {
    const header = c.req.header("authorization");
    const principal = authorize(deps.auth.authenticate(bearerToken(header)), 'Bearer realm="gsk-archiver"');
    const result = await enqueueManualRun(deps.queue);
    if ("busy" in result)
      throw new ApiError("run_in_progress", "An archive run or erasure is already waiting or active");
    deps.logger.info({ runId: result.runId, principal: principal.id }, "manual archive run queued");
    return c.json(result, 202);
  });

  app.post("/admin/erasures", bodyLimitOf(64 * 1024), async (c) => {
    const header = c.req.header("authorization");
    const principal = authorize(deps.auth.authenticate(bearerToken(header)), 'Bearer realm="gsk-archiver"');
    const request = check(ErasureRequestSchema, await jsonBody(c), "erasure");
    const { erasureId } = await enqueueErasure(deps.queue, request);
    // Who asked and what for; never data.
    deps.logger.info(
      {
        erasureId,
        principal: principal.id,
        accountId: request.accountId,
        flowId: request.flowId,
        keys: request.webhookKeys?.length,
      },
      "erasure queued",
    );
    return c.json({ erasureId }, 202);
  });

  // A browser logs in with HTTP Basic (any user name, the token as password); tools send Bearer.
  app.use(`${BOARD}/*`, async (c, next) => {
    const header = c.req.header("authorization");
    authorize(
      deps.auth.authenticate(bearerToken(header) ?? basicPassword(header)),
      'Basic realm="gsk-archiver"',
    );
    // A browser resends Basic credentials to any site's request: changes must come from the board's own pages.
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && isCrossSite((name) => c.req.header(name))) {
      throw new ApiError("cross_site", "Changes to the board are accepted only from its own pages");
    }
    await next();
  });
  app.get(`${BOARD}/`, (c) => c.redirect(BOARD));
  const board = new HonoAdapter(serveStatic);
  createBullBoard({
    queues: [new BullMQAdapter(deps.queue, { readOnlyMode: deps.boardReadOnly })],
    serverAdapter: board,
    options: { uiConfig: { boardTitle: "GSK archiver" } },
  });
  board.setBasePath(BOARD);
  app.route(BOARD, board.registerPlugin());

  app.notFound(() => problemResponse("not_found", "No such route"));
  app.onError(errorHandler(deps.logger));
  return app;
}
