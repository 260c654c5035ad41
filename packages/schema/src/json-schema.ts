import { type JsonSchema, toJsonSchema } from "@valibot/to-json-schema";
import type { GenericSchema } from "valibot";
import { createEnvelopeSchema, DEFAULT_MAX_DATA_BYTES, MAX_DATA_DEPTH } from "./envelope.ts";

const RFC3339_PATTERN = "^\\d{4}-\\d{2}-\\d{2}[Tt]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$";

/** A valibot schema as JSON Schema draft-07 (checks JSON Schema cannot express are left out). */
export function schemaToJson(schema: GenericSchema): JsonSchema {
  return toJsonSchema(unwrapJsonObject(schema), { errorMode: "ignore", typeMode: "input" });
}

// `jsonObject` puts an array-rejecting custom check before the object; JSON Schema's
// `type: "object"` already says that, so convert the object itself.
function unwrapJsonObject(schema: GenericSchema): GenericSchema {
  const pipe = (schema as { pipe?: GenericSchema[] }).pipe;
  if (pipe?.[0]?.type !== "custom") return schema;
  const [, inner, ...rest] = pipe;
  return rest.length === 0 && inner ? inner : schema;
}

/**
 * The envelope as JSON Schema: what API Gateway's request model and the OpenAPI document use.
 * It states every rule JSON Schema can express; the byte size of `data` is only described.
 */
export function envelopeJsonSchema(maxDataBytes = DEFAULT_MAX_DATA_BYTES): JsonSchema {
  const schema = schemaToJson(createEnvelopeSchema(maxDataBytes));
  const props = schema.properties as Record<string, JsonSchema>;
  const keys = props.webhookKeys as Record<string, unknown> & { items: Record<string, unknown> };
  props.webhookKeys = { ...keys, items: { ...keys.items, not: { enum: [".", ".."] } }, uniqueItems: true };
  props.producedAt = { ...props.producedAt, format: "date-time", pattern: RFC3339_PATTERN };
  props.data = {
    description: `Any JSON value; serialized, at most ${maxDataBytes} bytes of UTF-8, nested at most ${MAX_DATA_DEPTH} deep, every number exact (integers within ±(2^53-1)).`,
  };
  return schema;
}
