export {
  type Authenticator,
  basicPassword,
  bearerToken,
  canSeeAccount,
  connectionAuthenticator,
  createAuthenticator,
  loadApiTokens,
  type Principal,
} from "./auth.ts";
export { CliError, cliEnv, parseCommandLine, progress, runCli } from "./cli.ts";
export {
  ApiError,
  bodyLimitOf,
  errorHandler,
  PROBLEM_STATUS,
  type Problem,
  type ProblemCode,
  problemBody,
  problemResponse,
} from "./errors.ts";
export { type FastPath, type HttpServer, listen } from "./http.ts";
export { check, jsonBody } from "./input.ts";
export { createLogger, type Logger, REDACT_PATHS } from "./logger.ts";
export {
  createRegistry,
  type HealthChecks,
  type HotMetricConfig,
  hotCounter,
  hotHistogram,
  opsRoutes,
} from "./metrics.ts";
export { configOrExit, onShutdown } from "./shutdown.ts";
export {
  contextFrom,
  currentCarrier,
  inSpan,
  startTelemetry,
  type TraceCarrier,
  tracingEnabled,
} from "./telemetry.ts";
