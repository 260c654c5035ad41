import { randomUUID } from "node:crypto";
import { EVENT_ID_PATTERN } from "@gsk/schema";
import type { Deps } from "./deps.ts";

/** A request at least this slow is logged even when it succeeded. */
const SLOW_REQUEST_SECONDS = 0.5;

/** One answered request, as metrics and the access log see it. */
export interface Answered {
  reqId: string;
  route: string;
  method: string;
  path: string;
  status: number;
  seconds: number;
  principal: string | undefined;
}

/** The caller's request id when it is a valid one, else a new one. */
export function requestId(given: string | undefined): string {
  return given && EVENT_ID_PATTERN.test(given) ? given : randomUUID();
}

/**
 * Counts and logs answered requests. Successful requests are counted, not logged (at debug they
 * are); errors and slow ones are logged.
 */
export function createObserver(deps: Pick<Deps, "metrics" | "logger">) {
  type Series = { count: { inc(): void }; duration: { observe(seconds: number): void } };
  const bound = new Map<string, Series>();
  return ({ reqId, route, method, path, status, seconds, principal }: Answered) => {
    const key = `${status} ${method} ${route}`;
    let series = bound.get(key);
    if (!series) {
      series = {
        count: deps.metrics.requests.series({ route, method, status: String(status) }),
        duration: deps.metrics.duration.series({ route }),
      };
      bound.set(key, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
    const level =
      status >= 500 ? "warn" : status >= 400 || seconds >= SLOW_REQUEST_SECONDS ? "info" : "debug";
    if (!deps.logger.isLevelEnabled(level)) return;
    deps.logger[level](
      { reqId, method, path, status, durationMs: Math.round(seconds * 10_000) / 10, principal },
      "request",
    );
  };
}
