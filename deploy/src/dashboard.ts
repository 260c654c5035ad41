// The Grafana dashboard, as code: `pnpm --filter @gsk/deploy dashboard` writes grafana/get-set-key.json
// (import it in Grafana, or provision it); a test keeps the file equal to what this builds.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

interface Panel {
  title: string;
  description: string;
  unit: string;
  targets: { expr: string; legend: string }[];
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax (the data source picked at import), not JavaScript's.
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

const r = (expr: string) => `sum(rate(${expr}[$__rate_interval]))`;

/** The panels, row by row: ingest, the queue, get-api, the archive. */
export const PANELS: Panel[][] = [
  [
    {
      title: "Ingest rate by outcome",
      description:
        "Messages handled per second: stored, unchanged, expired, rejected (dead-lettered), failed (retried).",
      unit: "ops",
      targets: [
        {
          expr: "sum by (outcome) (rate(gsk_ingest_messages_total[$__rate_interval]))",
          legend: "{{outcome}}",
        },
      ],
    },
    {
      title: "Dead-letter sends by code",
      description:
        "Messages sent to the DLQ per second, by gsk-error-code: list them with `ingest-worker dlq list`.",
      unit: "ops",
      targets: [
        {
          expr: 'sum by (code) (rate(gsk_ingest_dlq_sends_total{result="sent"}[$__rate_interval]))',
          legend: "{{code}}",
        },
      ],
    },
    {
      title: "Redis errors",
      description:
        "get-api reads that failed on Redis, and worker messages left for retry (Redis down or hung).",
      unit: "ops",
      targets: [
        { expr: r("gsk_api_redis_errors_total"), legend: "get-api" },
        { expr: r('gsk_ingest_messages_total{outcome="failed"}'), legend: "ingest-worker failed" },
      ],
    },
  ],
  [
    {
      title: "Queue backlog",
      description: "Messages waiting in SQS and in flight (read from SQS by the workers at most every 15 s).",
      unit: "short",
      targets: [
        { expr: "max(gsk_ingest_queue_visible_messages)", legend: "waiting" },
        { expr: "max(gsk_ingest_queue_in_flight_messages)", legend: "in flight" },
      ],
    },
    {
      title: "Oldest message age",
      description: "Age of the oldest message the workers received in the last 15 s (alert above 5 minutes).",
      unit: "s",
      targets: [{ expr: "max(gsk_ingest_queue_oldest_message_age_seconds)", legend: "oldest" }],
    },
    {
      title: "Time since each worker polled",
      description: "A worker that stopped receiving from SQS (alert above 2 minutes).",
      unit: "s",
      targets: [{ expr: "time() - gsk_ingest_last_poll_timestamp_seconds", legend: "{{pod}}" }],
    },
  ],
  [
    {
      title: "GET rate",
      description: "Reads by webhook key per second, by status.",
      unit: "reqps",
      targets: [
        {
          expr: 'sum by (status) (rate(gsk_api_http_requests_total{route="/v1/data/:webhookKey",method="GET"}[$__rate_interval]))',
          legend: "{{status}}",
        },
      ],
    },
    {
      title: "Latency p50 / p99",
      description: "get-api request duration, every route.",
      unit: "s",
      targets: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le) (rate(gsk_api_http_request_duration_seconds_bucket[$__rate_interval])))`,
        legend: `p${q * 100}`,
      })),
    },
    {
      title: "Error ratio (5xx)",
      description: "Share of get-api requests answered 5xx (alert above 1 % for 5 minutes).",
      unit: "percentunit",
      targets: [
        {
          expr: `${r('gsk_api_http_requests_total{status=~"5.."}')} / ${r("gsk_api_http_requests_total")}`,
          legend: "5xx",
        },
      ],
    },
  ],
  [
    {
      title: "Archive runs",
      description: "Runs finished per day, by status.",
      unit: "short",
      targets: [{ expr: "sum by (status) (increase(gsk_archive_runs_total[1d]))", legend: "{{status}}" }],
    },
    {
      title: "Archive run duration",
      description: "Mean duration of the runs that finished in the last day.",
      unit: "s",
      targets: [
        {
          expr: "sum(increase(gsk_archive_run_duration_seconds_sum[1d])) / sum(increase(gsk_archive_run_duration_seconds_count[1d]))",
          legend: "mean",
        },
      ],
    },
    {
      title: "Archived keys by outcome",
      description:
        "Keys per day: inserted (new versions), unchanged, failed, vanished (expired before the read).",
      unit: "short",
      targets: [{ expr: "sum by (outcome) (increase(gsk_archive_keys_total[1d]))", legend: "{{outcome}}" }],
    },
    {
      title: "Time since the last successful run",
      description: "Alert above 26 hours.",
      unit: "s",
      targets: [
        { expr: "time() - max(gsk_archive_last_success_timestamp_seconds)", legend: "since last success" },
      ],
    },
  ],
];

/** The dashboard JSON (Grafana's dashboard model, a Prometheus data source chosen at import). */
export function dashboard() {
  let id = 0;
  const panels = PANELS.flatMap((row, y) =>
    row.map((panel, x) => ({
      id: ++id,
      type: "timeseries",
      title: panel.title,
      description: panel.description,
      datasource: DATASOURCE,
      gridPos: { x: x * Math.floor(24 / row.length), y: y * 8, w: Math.floor(24 / row.length), h: 8 },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      options: { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
      targets: panel.targets.map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        expr: t.expr,
        legendFormat: t.legend,
        datasource: DATASOURCE,
      })),
    })),
  );
  return {
    title: "Get-Set Key",
    uid: "get-set-key",
    tags: ["get-set-key"],
    timezone: "utc",
    schemaVersion: 39,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [{ name: "datasource", type: "datasource", query: "prometheus", label: "Prometheus" }],
    },
    panels,
  };
}

export const DASHBOARD_FILE = join(import.meta.dirname, "..", "grafana", "get-set-key.json");

if (import.meta.main) {
  writeFileSync(DASHBOARD_FILE, `${JSON.stringify(dashboard(), null, 2)}\n`);
  process.stdout.write(`wrote ${DASHBOARD_FILE}\n`);
}
