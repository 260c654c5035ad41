import { type FieldError, problem } from "@gsk/schema";
import type { Context } from "hono";
import type { Logger } from "./logger.ts";

/** An error with its HTTP status and a stable problem code; answered as RFC 9457 problem+json. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: string,
    detail: string,
    options: { errors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.status = status;
    this.code = code;
    if (options.errors) this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/** A problem+json response. */
export function problemResponse(
  status: number,
  code: string,
  detail: string,
  errors?: FieldError[],
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(problem(status, code, detail, errors)), {
    status,
    headers: { "Content-Type": "application/problem+json", ...headers },
  });
}

/** `app.onError`: ApiErrors become their problem; anything else a logged 500 without details. */
export function errorHandler(logger: Logger) {
  return (error: Error, c: Context): Response => {
    if (error instanceof ApiError) {
      return problemResponse(error.status, error.code, error.message, error.errors, error.headers);
    }
    const status = (error as { status?: number }).status;
    if (status === 413) return problemResponse(413, "too_large", "The request body is too large");
    logger.error({ err: error, reqId: c.res.headers.get("x-request-id") }, "unhandled error");
    return problemResponse(500, "internal", "An unexpected error occurred");
  };
}
