// The built apps as processes, with real Redis, SQS (fauxqs) and MongoDB: one trace across the
// queue, exported over OTLP to a receiver that records what it is sent; and every metric name the
// dashboard and the alert rules use, found in the apps' /metrics.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, type MongoInstance, spawnNode, test, waitFor } from "@gsk/testing";
import { describe, expect, onTestFinished } from "vitest";
import { dashboard } from "./dashboard.ts";
import { DEPLOY_DIR } from "./manifests.ts";

const TOKEN = "observability-test-token";
const API_TOKENS = JSON.stringify([
  {
    id: "t",
    sha256: createHash("sha256").update(TOKEN).digest("hex"),
    scopes: ["data:read", "data:write", "archive:admin"],
    accounts: ["*"],
  },
]);
const AWS = { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };

/** An app's built entry point (dist/main.js next to its src/). */
const mainOf = (app: string) =>
  join(dirname(fileURLToPath(import.meta.resolve(`@gsk/${app}/env`))), "..", "dist", "main.js");

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP (JSON) receiver on 127.0.0.1 that keeps every span it is sent, with its service. */
async function otlpReceiver() {
  const spans: (OtlpSpan & { service: string })[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      if (req.url === "/v1/traces") {
        const payload = JSON.parse(body) as {
          resourceSpans: {
            resource: { attributes: { key: string; value: { stringValue?: string } }[] };
            scopeSpans: { spans: OtlpSpan[] }[];
          }[];
        };
        for (const rs of payload.resourceSpans) {
          const service =
            rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
          for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ ...span, service });
        }
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

/** Starts a built app with `env` and waits until it is ready; killed when the test ends. */
async function startApp(app: string, env: Record<string, string>) {
  const port = await freePort();
  const run = spawnNode(mainOf(app), [], {
    ...env,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok,
    `${app} ready`,
    20_000,
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${run.output()}`);
  });
  return { base, ...run };
}

const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
};

describe("observability", () => {
  test("one trace follows a message from the POST through the queue to Redis", async ({
    redis,
    sqs,
    queues,
  }) => {
    const otlp = await otlpReceiver();
    const tracing = {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "200",
    };
    const common = {
      ...AWS,
      ...tracing,
      REDIS_URL: redis.url,
      SQS_ENDPOINT: sqs.endpoint,
      SQS_QUEUE_URL: queues.queueUrl,
    };
    const api = await startApp("get-api", { ...common, INGRESS_ENABLED: "true", API_TOKENS });
    await startApp("ingest-worker", { ...common, SQS_DLQ_URL: queues.dlqUrl, INGEST_WAIT_SECONDS: "1" });

    const traceId = createHash("sha256").update(String(Date.now())).digest("hex").slice(0, 32);
    const callerSpanId = "00f067aa0ba902b7";
    const posted = await fetch(`${api.base}/v1/data`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        "Content-Type": "application/json",
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
      body: JSON.stringify({
        accountId: "acme",
        flowId: "f",
        webhookKeys: ["traced-1", "traced-2"],
        data: { a: 1 },
      }),
    });
    expect(posted.status).toBe(202);

    const trace = () => otlp.spans.filter((s) => s.traceId === traceId);
    await waitFor(
      async () => trace().some((s) => s.name === "redis write"),
      "the worker's spans",
      20_000,
      200,
    );
    const server = trace().find((s) => s.service === "get-api");
    const message = trace().find((s) => s.name === "process message");
    const write = trace().find((s) => s.name === "redis write");
    expect(server).toMatchObject({ name: "POST /v1/data", parentSpanId: callerSpanId });
    expect(message).toMatchObject({ service: "ingest-worker", parentSpanId: server?.spanId });
    expect(attr(message as OtlpSpan, "gsk.outcome")).toBe("stored");
    expect(attr(message as OtlpSpan, "gsk.account_id")).toBe("acme");
    expect(Number(attr(message as OtlpSpan, "gsk.key_count"))).toBe(2);
    expect(Number(attr(message as OtlpSpan, "gsk.queue_wait_ms"))).toBeGreaterThanOrEqual(0);
    expect(write).toMatchObject({ service: "ingest-worker", parentSpanId: message?.spanId });
  });

  test("every metric the dashboard and the alert rules use is exported by an app", async ({
    redis,
    sqs,
    queues,
    mongo,
  }) => {
    const common = {
      ...AWS,
      REDIS_URL: redis.url,
      SQS_ENDPOINT: sqs.endpoint,
      SQS_QUEUE_URL: queues.queueUrl,
    };
    const apps = [
      await startApp("get-api", { ...common, API_TOKENS }),
      await startApp("ingest-worker", { ...common, SQS_DLQ_URL: queues.dlqUrl }),
      await startApp("archiver", { REDIS_URL: redis.url, ...mongoEnv(mongo), API_TOKENS }),
    ];
    // One request of each kind, so labelled series exist.
    await fetch(`${apps[0]?.base}/v1/data/k`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    const exported = new Set<string>();
    for (const app of apps) {
      const text = await (await fetch(`${app.base}/metrics`)).text();
      for (const line of text.split("\n")) {
        const name = /^(?:# TYPE )?([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1];
        if (name) exported.add(name);
      }
    }
    const rules = readFileSync(join(DEPLOY_DIR, "k8s", "base", "alerts.yaml"), "utf8");
    const used = new Set(
      [JSON.stringify(dashboard()), rules]
        .flatMap((text) => text.match(/\b(gsk|process|nodejs)_[a-z0-9_]+/g) ?? [])
        .filter((name) => !name.endsWith("_")),
    );
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
  });
});

function mongoEnv(mongo: MongoInstance) {
  return { MONGO_URL: mongo.url, MONGO_DB: mongo.dbName };
}
