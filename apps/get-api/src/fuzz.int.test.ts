import { test } from "@gsk/testing";
import fc from "fast-check";
import { describe, expect } from "vitest";
import { auth, buildApi, TOKENS } from "./test-support.ts";

const segment = fc.oneof(
  fc.constantFrom(
    "v1",
    "data",
    "batch",
    "ttl-policies",
    "accounts",
    "flows",
    "effective",
    "acme",
    "k",
    "..",
    "%00",
    "%ZZ",
  ),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);
const path = fc
  .array(segment, { maxLength: 6 })
  .chain((parts) =>
    fc.tuple(fc.constant(parts), fc.option(fc.string({ maxLength: 30 }).map(encodeURIComponent))),
  )
  .map(([parts, query]) => `/${parts.join("/")}${query ? `?${query}` : ""}`);
const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS");
const token = fc.constantFrom(...Object.values(TOKENS), "bogus", "");
const body = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        accountId: fc.string(),
        flowId: fc.string(),
        webhookKeys: fc.array(fc.string()),
        data: fc.jsonValue(),
        ttlSeconds: fc.oneof(fc.integer(), fc.constant(null)),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const headers = fc.dictionary(
  fc.constantFrom("if-none-match", "content-type", "x-request-id", "accept", "content-length-hint"),
  fc.string({ maxLength: 40 }).filter((s) => /^[\t\x20-\x7e]*$/.test(s)),
  { maxKeys: 3 },
);

describe("any request", () => {
  test("never gets a 5xx while Redis is up, and never a stack trace", async ({ redis }) => {
    const { app, put } = await buildApi({ redisUrl: redis.url });
    await put({ webhookKey: "k" });
    await fc.assert(
      fc.asyncProperty(path, method, token, body, headers, async (p, m, t, b, h) => {
        const withBody = m !== "GET" && m !== "HEAD" && b !== undefined;
        const res = await app.request(p, {
          method: m,
          headers: { ...h, ...auth(t) },
          ...(withBody ? { body: b } : {}),
        });
        const text = await res.text();
        expect(res.status, `${m} ${p}`).toBeLessThan(500);
        expect(text).not.toMatch(/\n\s+at |Error:|node_modules/);
      }),
      { numRuns: 400 },
    );
  });
});
