import type { FieldError } from "@gsk/schema";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "./logger.ts";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Content Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Every problem the HTTP APIs answer, by its stable code: the one place a code gets its status. */
export const PROBLEM_STATUS = {
  validation: 400,
  invalid_json: 400,
  produced_in_future: 400,
  invalid_message_contents: 400,
  unauthorized: 401,
  forbidden: 403,
  cross_site: 403,
  not_found: 404,
  account_conflict: 409,
  run_in_progress: 409,
  too_large: 413,
  internal: 500,
  queue_error: 500,
  redis_unavailable: 503,
  queue_unavailable: 503,
  archive_unavailable: 503,
} as const satisfies Record<string, keyof typeof TITLES>;

export type ProblemCode = keyof typeof PROBLEM_STATUS;

/** An RFC 9457 problem details body; `type` is a stable URN naming the problem. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export interface ProblemOptions {
  errors?: FieldError[] | undefined;
  headers?: Record<string, string>;
}

/** A problem body for a code. */
export function problemBody(code: ProblemCode, detail: string, errors?: FieldError[]): Problem {
  const status = PROBLEM_STATUS[code];
  const body: Problem = { type: `urn:gsk:problem:${code}`, title: TITLES[status] as string, status, detail };
  if (errors && errors.length > 0) body.errors = errors;
  return body;
}

/** An error answered as its problem+json; the status comes from the code. */
export class ApiError extends Error {
  readonly code: ProblemCode;
  readonly options: ProblemOptions;
  constructor(code: ProblemCode, detail: string, options: ProblemOptions = {}) {
    super(detail);
    this.code = code;
    this.options = options;
  }
  get status(): number {
    return PROBLEM_STATUS[this.code];
  }
}

/** A problem+json response for a code. */
export function problemResponse(code: ProblemCode, detail: string, options: ProblemOptions = {}): Response {
  return new Response(JSON.stringify(problemBody(code, detail, options.errors)), {
    status: PROBLEM_STATUS[code],
    headers: { "Content-Type": "application/problem+json", ...options.headers },
  });
}

/** `app.onError`: ApiErrors become their problem; anything else a logged 500 without details. */
export function errorHandler(logger: Logger) {
  return (error: Error, c: Context): Response => {
    if (error instanceof ApiError) return problemResponse(error.code, error.message, error.options);
    logger.error({ err: error, reqId: c.res.headers.get("x-request-id") }, "unhandled error");
    return problemResponse("internal", "An unexpected error occurred");
  };
}

/** Refuses a body larger than `maxSize` bytes with a 413 problem, from `Content-Length` before reading. */
export function bodyLimitOf(maxSize: number): MiddlewareHandler {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError("too_large", `The request body is larger than ${maxSize} bytes`);
    },
  });
}
