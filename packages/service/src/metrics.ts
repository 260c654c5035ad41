import { Hono } from "hono";
import { collectDefaultMetrics, Registry } from "prom-client";

/** A registry of the app's own (no global state), with Node's default metrics under `prefix`. */
export function createRegistry(prefix: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  return registry;
}

export interface HealthChecks {
  /** Liveness: throws or returns a reason string when the process should be restarted. */
  live?: () => string | undefined;
  /** Readiness: resolves when the app can take work; rejects with the reason otherwise. */
  ready: () => Promise<void>;
}

/** `/healthz`, `/readyz` and `/metrics` (Prometheus text), unauthenticated as the contract says. */
export function opsRoutes(registry: Registry, checks: HealthChecks): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    const problem = checks.live?.();
    return problem ? c.json({ status: "unhealthy", reason: problem }, 503) : c.json({ status: "ok" });
  });
  app.get("/readyz", async (c) => {
    try {
      await checks.ready();
      return c.json({ status: "ready" });
    } catch (error) {
      c.header("Retry-After", "5");
      return c.json({ status: "not ready", reason: (error as Error).message }, 503);
    }
  });
  app.get("/metrics", async (c) => {
    c.header("Content-Type", registry.contentType);
    return c.body(await registry.metrics());
  });
  return app;
}
