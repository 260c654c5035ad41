import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

let enabled = false;
/** The span `inSpan` hands out while tracing is off: it records nothing. */
const NOOP_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The W3C trace context of a message or request: `traceparent` and, when there is one, `tracestate`. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/**
 * Starts OpenTelemetry tracing when `OTEL_EXPORTER_OTLP_ENDPOINT` (or its `_TRACES_` form) is set:
 * spans are exported over OTLP as the standard `OTEL_*` variables say (protocol, headers, sampler,
 * resource attributes). Unset, nothing is loaded and every span helper below calls straight through.
 * Returns the shutdown, which flushes what is buffered.
 */
export async function startTelemetry(
  serviceName: string,
  env: Record<string, string | undefined>,
): Promise<() => Promise<void>> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return async () => {};
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  // Traces only (no metric readers, no log processors): the apps' metrics are Prometheus
  // (/metrics), their logs pino on stdout.
  const sdk = new NodeSDK({ serviceName, instrumentations: [], metricReaders: [], logRecordProcessors: [] });
  sdk.start();
  enabled = true;
  return async () => {
    enabled = false;
    await sdk.shutdown();
  };
}

/** Whether spans are being recorded (telemetry started). */
export function tracingEnabled(): boolean {
  return enabled;
}

/** The context a carrier continues (the root context when it carries none). */
export function contextFrom(carrier: TraceCarrier): Context {
  if (!enabled) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** The current trace context, to send along (empty when tracing is off). */
export function currentCarrier(): TraceCarrier {
  const carrier: TraceCarrier = {};
  if (enabled) propagation.inject(context.active(), carrier);
  return carrier;
}

/** What a span starts with: its kind, attributes, and parent (default: the active span). */
export interface SpanSetup {
  kind?: SpanKind;
  attributes?: Attributes;
  parent?: Context;
}

/**
 * Runs `fn` in a new span, ended when `fn` settles; a throw marks it an error. `setup` is called
 * only with tracing on, so nothing of it is computed otherwise: `fn` then runs alone, with a span
 * that records nothing, and its promise is returned as it is (no wrapper on the hot paths).
 */
export function inSpan<T>(name: string, setup: () => SpanSetup, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    if (!enabled) return fn(NOOP_SPAN);
    return traced(name, setup(), fn);
  } catch (error) {
    // Whatever throws before `fn`'s promise exists rejects, as from an async function.
    return Promise.reject(error);
  }
}

function traced<T>(name: string, options: SpanSetup, fn: (span: Span) => Promise<T>): Promise<T> {
  const tracer = trace.getTracer("get-set-key");
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(
    name,
    { kind: options.kind, attributes: options.attributes },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
