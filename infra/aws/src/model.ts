import { envelopeJsonSchema } from "@gsk/schema";
import * as apigw from "aws-cdk-lib/aws-apigateway";

/** Keywords draft-04 has, and what later drafts spell differently. */
const DRAFT4_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "enum",
  "not",
  "anyOf",
  "oneOf",
  "allOf",
  "minimum",
  "maximum",
  "multipleOf",
  "description",
  "title",
]);

/**
 * A draft-07 schema (what @valibot/to-json-schema writes) in draft-04, as API Gateway's models
 * take it: `const` becomes a one-value `enum`, numeric `exclusiveMinimum`/`exclusiveMaximum`
 * become draft-04's boolean form; any other keyword draft-04 lacks throws, so a schema change
 * can never reach the gateway as a rule it silently ignores.
 */
export function toDraft04(schema: unknown, path = "#"): Record<string, unknown> {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new Error(`${path}: not a schema object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    const at = `${path}/${key}`;
    if (key === "$schema") continue;
    if (key === "const") out.enum = [value];
    else if (key === "exclusiveMinimum" || key === "exclusiveMaximum") {
      if (typeof value !== "number") throw new Error(`${at}: expected a number`);
      out[key === "exclusiveMinimum" ? "minimum" : "maximum"] = value;
      out[key] = true;
    } else if (key === "properties") {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([name, sub]) => [
          name,
          toDraft04(sub, `${at}/${name}`),
        ]),
      );
    } else if (
      key === "items" ||
      key === "not" ||
      (key === "additionalProperties" && typeof value === "object")
    ) {
      out[key] = toDraft04(value, at);
    } else if (key === "anyOf" || key === "oneOf" || key === "allOf") {
      out[key] = (value as unknown[]).map((sub, i) => toDraft04(sub, `${at}/${i}`));
    } else if (DRAFT4_KEYWORDS.has(key)) out[key] = value;
    else throw new Error(`${at}: draft-04 has no "${key}"`);
  }
  return out;
}

/**
 * The envelope's request model (JSON Schema draft-04), generated from the same valibot schema the
 * worker and gateway mode validate with.
 */
export function envelopeModelSchema(maxDataBytes?: number): apigw.JsonSchema {
  return {
    schema: apigw.JsonSchemaVersion.DRAFT4,
    ...toDraft04(envelopeJsonSchema(maxDataBytes)),
  } as apigw.JsonSchema;
}
