import * as v from "valibot";

/** One validation problem: where (`path`, dot-separated, empty for the root) and what. */
export interface FieldError {
  path: string;
  message: string;
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
