import { createRegistry } from "@gsk/service";
import { Counter, Gauge, Histogram } from "prom-client";

/** The archiver's Prometheus metrics (names prefixed gsk_archive_, as the contract says). */
export function createArchiveMetrics() {
  const registry = createRegistry();
  const metrics = {
    registry,
    runs: new Counter({
      name: "gsk_archive_runs_total",
      help: "Archive runs by final status",
      labelNames: ["status"] as const,
      registers: [registry],
    }),
    keys: new Counter({
      name: "gsk_archive_keys_total",
      help: "Entry keys by outcome (inserted, unchanged, failed, vanished)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: "gsk_archive_run_duration_seconds",
      help: "Duration of successful runs",
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: "gsk_archive_last_success_timestamp_seconds",
      help: "When the last successful run finished",
      registers: [registry],
    }),
  };
  for (const status of ["succeeded", "failed"]) metrics.runs.inc({ status }, 0);
  return metrics;
}

export type ArchiveMetrics = ReturnType<typeof createArchiveMetrics>;
