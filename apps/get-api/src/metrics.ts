import { createRegistry, hotCounter, hotHistogram } from "@gsk/service";
import { Counter } from "prom-client";

/** get-api's Prometheus metrics, on a registry of its own. */
export function createApiMetrics() {
  const registry = createRegistry();
  return {
    registry,
    // Updated on every request: series bound once, plain additions (see hotCounter).
    requests: hotCounter(registry, {
      name: "gsk_api_http_requests_total",
      help: "HTTP requests by route, method and status",
      labelNames: ["route", "method", "status"],
    }),
    duration: hotHistogram(registry, {
      name: "gsk_api_http_request_duration_seconds",
      help: "HTTP request latency by route",
      labelNames: ["route"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    }),
    redisErrors: new Counter({
      name: "gsk_api_redis_errors_total",
      help: "Redis calls that failed (answered 503)",
      registers: [registry],
    }),
    ingress: new Counter({
      name: "gsk_api_ingress_messages_total",
      help: "Gateway-mode POSTs by result",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
