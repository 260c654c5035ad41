import * as v from "valibot";
import { EnvError } from "./env.ts";
import { IdSchema, strictJsonObject } from "./envelope.ts";
import { toFieldErrors } from "./problems.ts";

export const SCOPES = ["data:read", "data:write", "data:delete", "ttl:admin", "archive:admin"] as const;
export type Scope = (typeof SCOPES)[number];

const ACCOUNTS_MESSAGE = 'must be ["*"] or a non-empty list of account ids';

/** One configured API token: only the SHA-256 of the secret is configured, never the secret. */
export const ApiTokenSchema = strictJsonObject({
  id: v.pipe(
    v.string("must be a string"),
    v.regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1-64 of [A-Za-z0-9._:-]"),
  ),
  sha256: v.pipe(
    v.string("must be a string"),
    v.regex(/^[0-9a-fA-F]{64}$/, "must be the 64 hex digits of the token's SHA-256"),
    v.toLowerCase(),
  ),
  scopes: v.array(v.picklist(SCOPES, `must be one of ${SCOPES.join(", ")}`), "must be an array of scopes"),
  accounts: v.union(
    [
      v.pipe(
        v.strictTuple([v.literal("*")]),
        v.transform(() => "*" as const),
      ),
      v.pipe(v.array(IdSchema), v.minLength(1, ACCOUNTS_MESSAGE)),
    ],
    ACCOUNTS_MESSAGE,
  ),
});

export type ApiToken = v.InferOutput<typeof ApiTokenSchema>;

const ApiTokensSchema = v.pipe(
  v.array(ApiTokenSchema, "must be a JSON array of tokens"),
  v.check((tokens) => new Set(tokens.map((t) => t.id)).size === tokens.length, "must not repeat a token id"),
  v.check(
    (tokens) => new Set(tokens.map((t) => t.sha256)).size === tokens.length,
    "must not repeat a sha256",
  ),
);

/** Parses the JSON of `API_TOKENS` (or the file `API_TOKENS_FILE` names); `source` names it in errors. */
export function parseApiTokens(json: string, source: string): ApiToken[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    const message = `is not JSON (${(error as Error).message})`;
    throw new EnvError([{ path: source, message }], `invalid configuration: ${source}: ${message}`);
  }
  const result = v.safeParse(ApiTokensSchema, raw);
  if (result.success) return result.output;
  const errors = toFieldErrors(result.issues).map((e) => ({
    path: e.path ? `${source}.${e.path}` : source,
    message: e.message,
  }));
  throw new EnvError(
    errors,
    `invalid configuration: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
  );
}
