import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ProblemSchema, schemaToJson } from "@gsk/schema";
import type { Hono } from "hono";
import { generateSpecs, resolver } from "hono-openapi";
import type * as v from "valibot";

/** A JSON response body, for a route's description. */
export const jsonContent = (schema: v.GenericSchema) => ({
  "application/json": { schema: resolver(schema) },
});

/** Problem responses by status, for a route's description. */
export function problems(byStatus: Record<number, string>) {
  return Object.fromEntries(
    Object.entries(byStatus).map(([status, description]) => [
      status,
      { description, content: { "application/problem+json": { schema: resolver(ProblemSchema) } } },
    ]),
  );
}

/** What every route behind a token may answer besides its own responses. */
export const authProblems = {
  401: "Missing or unknown token",
  403: "The token lacks the scope",
  503: "Redis is unreachable or not answering (Retry-After)",
};

/** A route behind a bearer token. */
export const secured = { security: [{ bearer: [] }] };

/** A path parameter, its JSON Schema taken from the valibot schema the route validates with. */
export const pathParam = (name: string, schema: v.GenericSchema, description: string, example: string) => ({
  name,
  in: "path" as const,
  required: true,
  description,
  example,
  // A JSON Schema draft-07 object is an OpenAPI 3.1 schema; only their TypeScript types differ.
  schema: (({ $schema: _, ...rest }) => rest)(schemaToJson(schema) as Record<string, unknown>) as never,
});

/** The OpenAPI 3.1 document of an app, generated from the descriptions its routes carry. */
export function openApiDocument(app: Hono<never>): Promise<unknown> {
  return generateSpecs(app, {
    // Only described routes are listed; /openapi.json is one, though its name has a period.
    excludeStaticFile: false,
    documentation: {
      openapi: "3.1.0",
      info: {
        title: "Get-Set Key API",
        version: "1.0.0",
        description:
          "Read data by webhook key, manage TTL policies, and (gateway mode) post envelopes. Authenticate with `Authorization: Bearer <token>`.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
  });
}

const require = createRequire(import.meta.url);

/**
 * Scalar's standalone bundle: copied next to the built app (`dist/scalar/standalone.js`), else read from the
 * devDependency (tests and `tsx` runs). Served by get-api itself, so the page works offline.
 */
export function scalarScript(): string {
  const built = new URL("./scalar/standalone.js", import.meta.url);
  try {
    return readFileSync(built, "utf8");
  } catch {
    const main = require.resolve("@scalar/api-reference");
    return readFileSync(join(dirname(main), "browser", "standalone.js"), "utf8");
  }
}

/** The API reference page: Scalar renders /openapi.json; "Test Request" sends requests here. */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Get-Set Key API</title></head>
<body>
<div id="app"></div>
<script src="/docs/scalar.js"></script>
<script>
  Scalar.createApiReference("#app", {
    url: "/openapi.json",
    withDefaultFonts: false,
    hideClientButton: true,
    showDeveloperTools: "never",
    agent: { disabled: true },
    mcp: { disabled: true },
    telemetry: false,
    authentication: { preferredSecurityScheme: "bearer" },
  });
</script>
</body>
</html>`;
}
