import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * A registry of the app's own (no global state), with Node's default metrics under their standard
 * names (`process_*`, `nodejs_*`), so stock dashboards work; the app's own metrics carry its prefix.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface HealthChecks {
  /** Liveness: throws or returns a reason string when the process should be restarted. */
  live?: () => string | undefined;
  /** Readiness: a check per dependency, by name; ready when every one resolves. */
  ready: Record<string, () => Promise<unknown>>;
  /** True once shutdown started: readiness fails at once. */
  stopping: () => boolean;
}

/** `/healthz`, `/readyz` and `/metrics` (Prometheus text), unauthenticated as the contract says. */
export function opsRoutes(registry: Registry, checks: HealthChecks): Hono {
  const app = new Hono();
  app.get(
    "/healthz",
    describeRoute({
      summary: "Liveness",
      responses: { 200: { description: "Alive" }, 503: { description: "Should be restarted (the reason)" } },
    }),
    (c) => {
      const problem = checks.live?.();
      return problem ? c.json({ status: "unhealthy", reason: problem }, 503) : c.json({ status: "ok" });
    },
  );
  // The answer names what is down, never an error's text (it may carry hosts or credentials).
  app.get(
    "/readyz",
    describeRoute({
      summary: "Readiness",
      responses: {
        200: { description: "Every dependency answers" },
        503: { description: "Not ready: names what is down, or that the process is shutting down" },
      },
    }),
    async (c) => {
      let reason: string | undefined;
      if (checks.stopping()) reason = "shutting down";
      else {
        const names = Object.keys(checks.ready);
        const results = await Promise.allSettled(names.map((name) => checks.ready[name]?.()));
        const down = names.filter((_, i) => results[i]?.status === "rejected");
        if (down.length > 0) reason = `not answering: ${down.join(", ")}`;
      }
      if (reason === undefined) return c.json({ status: "ready" });
      c.header("Retry-After", "5");
      return c.json({ status: "not ready", reason }, 503);
    },
  );
  app.get(
    "/metrics",
    describeRoute({ summary: "Prometheus metrics", responses: { 200: { description: "Text format" } } }),
    async (c) => {
      c.header("Content-Type", registry.contentType);
      return c.body(await registry.metrics());
    },
  );
  return app;
}
