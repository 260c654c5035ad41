import { hash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { type ApiToken, EnvError, parseApiTokens, type Scope } from "@gsk/schema";

/** Who a valid token belongs to and what it may do. */
export interface Principal {
  id: string;
  scopes: ReadonlySet<Scope>;
  /** "*" for every account. */
  accounts: "*" | ReadonlySet<string>;
}

/** Reads the tokens from `API_TOKENS` (JSON) or the file `API_TOKENS_FILE` names: exactly one. */
export function loadApiTokens(env: {
  API_TOKENS?: string | undefined;
  API_TOKENS_FILE?: string | undefined;
}): ApiToken[] {
  if (env.API_TOKENS && env.API_TOKENS_FILE) {
    throw new EnvError(
      [{ path: "API_TOKENS_FILE", message: "set API_TOKENS or API_TOKENS_FILE, not both" }],
      "invalid configuration: API_TOKENS_FILE: set API_TOKENS or API_TOKENS_FILE, not both",
    );
  }
  if (env.API_TOKENS) return parseApiTokens(env.API_TOKENS, "API_TOKENS");
  if (env.API_TOKENS_FILE) {
    let text: string;
    try {
      text = readFileSync(env.API_TOKENS_FILE, "utf8");
    } catch (error) {
      const message = `cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`;
      throw new EnvError(
        [{ path: "API_TOKENS_FILE", message }],
        `invalid configuration: API_TOKENS_FILE: ${message}`,
      );
    }
    return parseApiTokens(text, "API_TOKENS_FILE");
  }
  throw new EnvError(
    [{ path: "API_TOKENS", message: "is required (or API_TOKENS_FILE)" }],
    "invalid configuration: API_TOKENS: is required (or API_TOKENS_FILE)",
  );
}

/** Checks presented tokens against the configured SHA-256 hashes in constant time. */
export interface Authenticator {
  authenticate(token: string | undefined): Principal | undefined;
}

export function createAuthenticator(tokens: ApiToken[]): Authenticator {
  const entries = tokens.map((t) => ({
    hash: Buffer.from(t.sha256, "hex"),
    principal: {
      id: t.id,
      scopes: new Set(t.scopes),
      accounts: t.accounts === "*" ? ("*" as const) : new Set(t.accounts),
    } satisfies Principal,
  }));
  return {
    authenticate(token) {
      if (!token) return undefined;
      // One-shot hash: a third cheaper than a Hash object, and this runs on every request.
      const digest = hash("sha256", token, "buffer");
      let found: Principal | undefined;
      // Every configured hash is compared, so the time taken says nothing about which matched.
      for (const entry of entries) {
        if (timingSafeEqual(digest, entry.hash)) found = entry.principal;
      }
      return found;
    },
  };
}

/**
 * Authenticates `Authorization` headers, remembering per connection the last header that
 * authenticated and its principal: a keep-alive client presents the same header on every request,
 * and comparing bytes costs a tenth of hashing them. The comparison is constant-time too (a
 * connection a proxy shares between clients must not learn one client's token from another's
 * timing); what it can tell is only whether a header equals the previous one on that connection in
 * full. Tokens are fixed for the life of the process, so a remembered principal stays right.
 */
export function connectionAuthenticator(auth: Authenticator) {
  const remembered = new WeakMap<object, { header: Buffer; principal: Principal }>();
  return (connection: object, header: string | undefined): Principal | undefined => {
    if (header === undefined) return undefined;
    const presented = Buffer.from(header);
    const known = remembered.get(connection);
    if (known && known.header.length === presented.length && timingSafeEqual(known.header, presented)) {
      return known.principal;
    }
    const principal = auth.authenticate(bearerToken(header));
    if (principal) remembered.set(connection, { header: presented, principal });
    return principal;
  };
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  return match?.[1];
}

/** The password of an `Authorization: Basic` header (the user name is ignored). */
export function basicPassword(header: string | undefined): string | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : decoded.slice(colon + 1) || undefined;
}

/** Whether a principal may see an account's data. */
export function canSeeAccount(principal: Principal, accountId: string): boolean {
  return principal.accounts === "*" || principal.accounts.has(accountId);
}
