import { describeIssues, toFieldErrors } from "@gsk/schema";
import type { Context } from "hono";
import * as v from "valibot";
import { ApiError } from "./errors.ts";

/** Validates input against a schema; a failure is a 400 problem listing every error. */
export function check<S extends v.GenericSchema>(schema: S, input: unknown, what: string): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  throw new ApiError("validation", `Invalid ${what}: ${describeIssues(result.issues)}`, {
    errors: toFieldErrors(result.issues),
  });
}

/** The JSON body, or a 400 naming the parse error. */
export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError("invalid_json", `The body is not JSON: ${(error as Error).message}`);
  }
}
