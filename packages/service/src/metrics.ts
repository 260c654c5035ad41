import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import { collectDefaultMetrics, type Metric, Registry } from "prom-client";

/**
 * A registry of the app's own (no global state), with Node's default metrics under their standard
 * names (`process_*`, `nodejs_*`), so stock dashboards work; the app's own metrics carry its prefix.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** One exported sample, as prom-client's registry formats it. */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** What a metric is, for `hotCounter` and `hotHistogram`. */
export interface HotMetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

/**
 * Registers a metric whose series are bound once and then updated as plain numbers. prom-client's
 * labelled `inc` and `observe` hash and validate their labels on every call, which on a request
 * path as short as a cached read costs as much as the rest of the answer; these cost an addition.
 * The registry formats them like its own metrics when scraped.
 */
function registerHot<L extends string, S extends { labels: Record<L, string> }>(
  registry: Registry,
  config: HotMetricConfig<L>,
  type: "counter" | "histogram",
  samples: (series: S) => Sample[],
  reset: (series: S) => void,
) {
  const all = new Map<string, S>();
  const metric = {
    name: config.name,
    help: config.help,
    type,
    aggregator: "sum",
    get: async () => ({
      name: config.name,
      help: config.help,
      type,
      aggregator: "sum",
      values: [...all.values()].flatMap(samples),
    }),
    reset: () => all.forEach(reset),
  };
  // The registry only calls get() and reset() and reads these fields: the shape of its own metrics.
  registry.registerMetric(metric as unknown as Metric);
  /** The series of these label values, made on first use and the same object after. */
  return (labels: Record<L, string>, make: () => S): S => {
    const key = config.labelNames.map((name) => labels[name]).join("\u0000");
    let series = all.get(key);
    if (!series) {
      series = make();
      all.set(key, series);
    }
    return series;
  };
}

/** A counter on the hot path: `series(labels)` once, then `inc()` per event. */
export function hotCounter<L extends string>(registry: Registry, config: HotMetricConfig<L>) {
  type Series = { labels: Record<L, string>; value: number; inc(): void };
  const find = registerHot<L, Series>(
    registry,
    config,
    "counter",
    (s) => [{ metricName: config.name, labels: s.labels, value: s.value }],
    (s) => {
      s.value = 0;
    },
  );
  return {
    /** The series of these label values: the same object on every call, so keep it. */
    series(labels: Record<L, string>): { inc(): void } {
      return find(labels, () => ({
        labels,
        value: 0,
        inc() {
          this.value++;
        },
      }));
    },
  };
}

/** A histogram on the hot path (cumulative buckets, sum and count, as Prometheus defines them). */
export function hotHistogram<L extends string>(
  registry: Registry,
  config: HotMetricConfig<L> & { buckets: readonly number[] },
) {
  const bounds = [...config.buckets].sort((a, b) => a - b);
  type Series = {
    labels: Record<L, string>;
    counts: Float64Array;
    sum: number;
    observe(value: number): void;
  };
  const find = registerHot<L, Series>(
    registry,
    config,
    "histogram",
    ({ labels, counts, sum }) => {
      let cumulative = 0;
      const samples: Sample[] = bounds.map((le, i) => {
        cumulative += counts[i] as number;
        return { metricName: `${config.name}_bucket`, labels: { ...labels, le }, value: cumulative };
      });
      cumulative += counts[bounds.length] as number;
      samples.push(
        { metricName: `${config.name}_bucket`, labels: { ...labels, le: "+Inf" }, value: cumulative },
        { metricName: `${config.name}_sum`, labels, value: sum },
        { metricName: `${config.name}_count`, labels, value: cumulative },
      );
      return samples;
    },
    (s) => {
      s.counts.fill(0);
      s.sum = 0;
    },
  );
  return {
    /** The series of these label values: the same object on every call, so keep it. */
    series(labels: Record<L, string>): { observe(value: number): void } {
      return find(labels, () => ({
        labels,
        counts: new Float64Array(bounds.length + 1),
        sum: 0,
        observe(value: number) {
          let i = 0;
          while (i < bounds.length && value > (bounds[i] as number)) i++;
          (this.counts[i] as number)++;
          this.sum += value;
        },
      }));
    },
  };
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
