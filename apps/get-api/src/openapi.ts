import {
  AcceptedSchema,
  BatchRequestSchema,
  BatchResponseSchema,
  EffectiveTtlSchema,
  envelopeJsonSchema,
  ProblemSchema,
  StoredEntrySchema,
  schemaToJson,
  TtlPolicySchema,
} from "@gsk/schema";
import type { Env } from "./env.ts";

type Json = Record<string, unknown>;

function component(schema: Json): Json {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ "application/json": { schema: ref(name) } });
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Problem") } },
});

const idParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" },
});

/** The OpenAPI 3.1 document, generated from the same valibot schemas the API validates with. */
export function openApiDocument(env: Pick<Env, "MAX_DATA_BYTES">): Json {
  const secured = { security: [{ bearer: [] }] };
  const common = {
    "401": problem("Missing or unknown token"),
    "403": problem("The token lacks the scope"),
    "503": problem("Redis is unavailable (Retry-After)"),
  };
  const policyOps = (scope: string) => ({
    get: {
      ...secured,
      summary: `Read the ${scope} TTL policy (ttl:admin)`,
      responses: {
        "200": { description: "The policy", content: json("TtlPolicy") },
        "404": problem("No policy"),
        ...common,
      },
    },
    put: {
      ...secured,
      summary: `Set the ${scope} TTL policy (ttl:admin)`,
      requestBody: { required: true, content: json("TtlPolicy") },
      responses: {
        "200": { description: "The stored policy", content: json("TtlPolicy") },
        "400": problem("Invalid policy"),
        ...common,
      },
    },
    delete: {
      ...secured,
      summary: `Delete the ${scope} TTL policy (ttl:admin)`,
      responses: { "204": { description: "Deleted" }, "404": problem("No policy"), ...common },
    },
  });
  return {
    openapi: "3.1.0",
    info: {
      title: "Get-Set Key API",
      version: "1.0.0",
      description: "Read data by webhook key, manage TTL policies, and (gateway mode) post envelopes.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Envelope: component(envelopeJsonSchema(env.MAX_DATA_BYTES) as Json),
        Entry: component(schemaToJson(StoredEntrySchema) as Json),
        BatchRequest: component(schemaToJson(BatchRequestSchema) as Json),
        BatchResponse: component(schemaToJson(BatchResponseSchema) as Json),
        TtlPolicy: component(schemaToJson(TtlPolicySchema) as Json),
        EffectiveTtl: component(schemaToJson(EffectiveTtlSchema) as Json),
        Accepted: component(schemaToJson(AcceptedSchema) as Json),
        Problem: component(schemaToJson(ProblemSchema) as Json),
      },
    },
    paths: {
      "/v1/data/{webhookKey}": {
        get: {
          ...secured,
          summary: "Read the entry of a webhook key (data:read)",
          parameters: [
            {
              name: "webhookKey",
              in: "path",
              required: true,
              schema: { type: "string", pattern: "^[A-Za-z0-9._~-]{1,128}$" },
            },
            { name: "If-None-Match", in: "header", required: false, schema: { type: "string" } },
          ],
          responses: {
            "200": {
              description: "The entry",
              headers: { ETag: { schema: { type: "string" } } },
              content: json("Entry"),
            },
            "304": { description: "Not modified (If-None-Match matched)" },
            "400": problem("Invalid webhook key"),
            "404": problem("No entry (or another account's)"),
            ...common,
          },
        },
      },
      "/v1/data/batch": {
        post: {
          ...secured,
          summary: "Read up to 100 webhook keys (data:read)",
          requestBody: { required: true, content: json("BatchRequest") },
          responses: {
            "200": { description: "Entries found and keys missing", content: json("BatchResponse") },
            "400": problem("Invalid body"),
            ...common,
          },
        },
      },
      "/v1/data": {
        post: {
          ...secured,
          summary: "Gateway mode only (INGRESS_ENABLED=true): queue an envelope (data:write)",
          requestBody: { required: true, content: json("Envelope") },
          responses: {
            "202": { description: "SQS accepted the message", content: json("Accepted") },
            "400": problem("Invalid envelope, every problem listed"),
            "404": problem("Gateway mode is off (INGRESS_ENABLED=false)"),
            "409": problem("A webhook key holds another account's live entry"),
            "413": problem("Body or data too large (also when SQS refuses the message for its size)"),
            ...common,
            "500": problem("SQS refused the request (not this message): it was not accepted"),
            "503": problem("SQS is unreachable or throttling (Retry-After)"),
          },
        },
      },
      "/v1/ttl-policies/accounts/{accountId}": {
        parameters: [idParam("accountId", "The account")],
        ...policyOps("account"),
      },
      "/v1/ttl-policies/accounts/{accountId}/flows/{flowId}": {
        parameters: [idParam("accountId", "The account"), idParam("flowId", "The flow")],
        ...policyOps("flow"),
      },
      "/v1/ttl-policies/effective": {
        get: {
          ...secured,
          summary: "The effective TTL of a flow and where it comes from (ttl:admin)",
          parameters: [
            { name: "accountId", in: "query", required: true, schema: { type: "string" } },
            { name: "flowId", in: "query", required: true, schema: { type: "string" } },
          ],
          responses: {
            "200": { description: "Effective TTL", content: json("EffectiveTtl") },
            "400": problem("Invalid query"),
            ...common,
          },
        },
      },
      "/healthz": { get: { summary: "Liveness", responses: { "200": { description: "The process runs" } } } },
      "/readyz": {
        get: {
          summary: "Readiness",
          responses: { "200": { description: "Redis answers" }, "503": { description: "Not ready" } },
        },
      },
      "/metrics": {
        get: { summary: "Prometheus metrics", responses: { "200": { description: "Text format" } } },
      },
    },
  };
}

/** A self-contained page that renders /openapi.json (no CDN: it works offline). */
export function docsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Get-Set Key API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}
h2{border-bottom:1px solid #ddd}.op{margin:1rem 0;padding:.5rem 1rem;border-left:4px solid #36c;background:#f6f8fb}
.m{font-weight:700;text-transform:uppercase;margin-right:.5rem}pre{background:#f3f3f3;padding:.5rem;overflow:auto;font-size:13px}</style>
</head><body><h1>Get-Set Key API</h1><p>The <a href="/openapi.json">OpenAPI 3.1 document</a>, rendered.</p>
<div id="ops"></div><h2>Schemas</h2><div id="schemas"></div>
<script>
fetch("/openapi.json").then(r=>r.json()).then(doc=>{
  const esc=s=>String(s).replace(/[&<>]/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;"}[c]));
  const ops=document.getElementById("ops");
  for(const [path,item] of Object.entries(doc.paths)){
    for(const [method,op] of Object.entries(item)){
      if(method==="parameters")continue;
      const codes=Object.entries(op.responses||{}).map(([c,r])=>"<li><b>"+c+"</b> "+esc(r.description)+"</li>").join("");
      ops.insertAdjacentHTML("beforeend","<div class=op><span class=m>"+method+"</span><code>"+esc(path)+"</code><p>"+esc(op.summary||"")+"</p><ul>"+codes+"</ul></div>");
    }
  }
  const schemas=document.getElementById("schemas");
  for(const [name,s] of Object.entries(doc.components.schemas)){
    schemas.insertAdjacentHTML("beforeend","<h3>"+esc(name)+"</h3><pre>"+esc(JSON.stringify(s,null,2))+"</pre>");
  }
});
</script></body></html>`;
}
