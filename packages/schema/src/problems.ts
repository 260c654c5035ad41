import * as v from "valibot";

/** One validation problem: where (`path`, dot-separated, empty for the root) and what. */
export interface FieldError {
  path: string;
  message: string;
}

/** An RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

/** Turns valibot issues into `{ path, message }` pairs. */
export function toFieldErrors(issues: readonly v.BaseIssue<unknown>[]): FieldError[] {
  return issues.map((issue) => ({ path: v.getDotPath(issue) ?? "", message: issue.message }));
}

/** One line naming every problem, e.g. `accountId: must be ...; webhookKeys.0: must be ...`. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return toFieldErrors(issues)
    .map((e) => (e.path ? `${e.path}: ${e.message}` : e.message))
    .join("; ");
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Builds an RFC 9457 body; `type` is a stable URN naming the problem. */
export function problem(status: number, code: string, detail: string, errors?: FieldError[]): Problem {
  const body: Problem = { type: `urn:gsk:problem:${code}`, title: TITLES[status] ?? "Error", status, detail };
  if (errors && errors.length > 0) body.errors = errors;
  return body;
}

/** A 400 problem body from valibot issues. */
export function validationProblem(
  issues: readonly v.BaseIssue<unknown>[],
  detail = "The request is invalid",
): Problem {
  return problem(400, "validation", `${detail}: ${describeIssues(issues)}`, toFieldErrors(issues));
}
