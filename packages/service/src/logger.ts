import { pino } from "pino";

export type Logger = pino.Logger;

/** Header and field names whose values never reach a log line. */
export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  "API_TOKENS",
  "*.API_TOKENS",
  "token",
  "*.token",
  "password",
  "*.password",
];

/** A pino JSON logger with secrets redacted. */
export function createLogger(level: string, name: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, name, redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, destination);
}
