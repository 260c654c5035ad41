import { describe, expect, it } from "vitest";
import { appEnvSchema, EnvError, envInt, parseEnvWith, redisEnvEntries } from "./index.ts";

const schema = appEnvSchema({ ...redisEnvEntries, WORKERS: envInt(4, 1, 8) });

describe("parseEnvWith", () => {
  it("applies defaults and converts types", () => {
    expect(parseEnvWith(schema, { REDIS_URL: "redis://h:1" })).toEqual({
      REDIS_URL: ["redis://h:1"],
      REDIS_CLUSTER: false,
      REDIS_PREFIX: "gsk",
      REDIS_COMMAND_TIMEOUT_MS: 2000,
      REDIS_MIN_REPLICAS: "auto",
      REDIS_REPLICA_TIMEOUT_MS: 1000,
      WORKERS: 4,
    });
    expect(
      parseEnvWith(schema, { REDIS_URL: "redis://a:1, redis://b:2", REDIS_CLUSTER: "true", WORKERS: "" }),
    ).toMatchObject({ REDIS_URL: ["redis://a:1", "redis://b:2"], REDIS_CLUSTER: true, WORKERS: 4 });
  });

  it("names every bad variable in one message", () => {
    let error: unknown;
    try {
      parseEnvWith(schema, { REDIS_CLUSTER: "yes", REDIS_PREFIX: "a b", WORKERS: "9" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvError);
    expect((error as EnvError).message).toBe(
      "invalid configuration: REDIS_URL: is required; REDIS_CLUSTER: must be true or false; " +
        "REDIS_PREFIX: must be 1-32 characters of [A-Za-z0-9._-], starting with a letter or digit; WORKERS: must be at most 8",
    );
  });

  it("rejects several Redis URLs without REDIS_CLUSTER=true", () => {
    expect(() => parseEnvWith(schema, { REDIS_URL: "redis://a:1,redis://b:2" })).toThrow(
      "REDIS_URL: must be one URL unless REDIS_CLUSTER=true",
    );
    expect(() => parseEnvWith(schema, { REDIS_URL: "http://a:1" })).toThrow("REDIS_URL: must be a redis://");
  });
});

describe("parseApiTokens", () => {
  const sha = "a".repeat(64);
  it("reads tokens, lower-casing the hash and keeping * for all accounts", async () => {
    const { parseApiTokens } = await import("./index.ts");
    const tokens = parseApiTokens(
      JSON.stringify([
        { id: "reader", sha256: sha.toUpperCase(), scopes: ["data:read"], accounts: ["*"] },
        { id: "acme", sha256: "b".repeat(64), scopes: ["data:read", "ttl:admin"], accounts: ["acme"] },
      ]),
      "API_TOKENS",
    );
    expect(tokens[0]).toEqual({ id: "reader", sha256: sha, scopes: ["data:read"], accounts: "*" });
    expect(tokens[1]?.accounts).toEqual(["acme"]);
  });

  it('refuses an accounts list mixing "*" with ids instead of granting every account', async () => {
    const { parseApiTokens } = await import("./index.ts");
    const token = (accounts: unknown) =>
      JSON.stringify([{ id: "t", sha256: "a".repeat(64), scopes: ["data:read"], accounts }]);
    expect(() => parseApiTokens(token(["*", "acme"]), "API_TOKENS")).toThrow(
      "API_TOKENS.0.accounts.0: must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit",
    );
    expect(() => parseApiTokens(token(["acme", "*"]), "API_TOKENS")).toThrow("API_TOKENS.0.accounts");
    expect(parseApiTokens(token(["*"]), "API_TOKENS")[0]?.accounts).toBe("*");
  });

  it("names the token and field at fault, and never echoes a hash", async () => {
    const { parseApiTokens } = await import("./index.ts");
    expect(() => parseApiTokens("[{", "API_TOKENS")).toThrow("API_TOKENS: is not JSON");
    expect(() =>
      parseApiTokens(
        JSON.stringify([{ id: "x", sha256: "nothex", scopes: ["root"], accounts: [] }]),
        "API_TOKENS_FILE",
      ),
    ).toThrow(
      "invalid configuration: API_TOKENS_FILE.0.sha256: must be the 64 hex digits of the token's SHA-256; " +
        "API_TOKENS_FILE.0.scopes.0: must be one of data:read, data:write, data:delete, ttl:admin, archive:admin; " +
        'API_TOKENS_FILE.0.accounts: must be ["*"] or a non-empty list of account ids',
    );
  });
});
