import { EnvError } from "@gsk/schema";
import type { Logger } from "./logger.ts";

/**
 * On SIGTERM or SIGINT runs `stop` once, under `deadlineMs` (shorter than the orchestrator's
 * grace period); exits 0 when it finished in time, 1 otherwise.
 */
export function onShutdown(logger: Logger, deadlineMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, deadlineMs }, "shutting down");
    const timer = setTimeout(() => {
      logger.error({ deadlineMs }, "shutdown deadline passed; exiting");
      exit(logger, 1);
    }, deadlineMs);
    timer.unref();
    stop().then(
      () => {
        logger.info("stopped");
        exit(logger, 0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        exit(logger, 1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/** Exits once the logger's buffered lines are written. */
function exit(logger: Logger, code: number): void {
  logger.flush(() => process.exit(code));
}

/** Runs the configuration parse of `main.ts`; a bad value prints one line and exits 2. */
export function configOrExit<T>(app: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    process.stderr.write(`${app}: ${error.message}\n`);
    process.exit(2);
  }
}
