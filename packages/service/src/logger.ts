import { pino } from "pino";

export type Logger = pino.Logger;

/** Header and field names whose values never reach a log line. */
// Exact paths only: wildcard paths cost a tenth of get-api's throughput. Request lines log no
// headers; configuration is logged through redactUrl and counts, never raw.
export const REDACT_PATHS = [
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  "API_TOKENS",
  "config.API_TOKENS",
  "token",
  "password",
  "config.password",
];

/**
 * A pino JSON logger with secrets redacted. Without a destination it writes to stdout through a
 * buffered asynchronous stream (a synchronous write per request line costs a third of get-api's
 * throughput); `onShutdown` flushes it before exit.
 */
export function createLogger(level: string, name: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, name, redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
}
