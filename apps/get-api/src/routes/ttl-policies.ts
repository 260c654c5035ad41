import {
  AccountParamSchema,
  EffectiveQuerySchema,
  EffectiveTtlSchema,
  FlowParamSchema,
  IdSchema,
  TtlPolicySchema,
} from "@gsk/schema";
import { ApiError, canSeeAccount, check, jsonBody } from "@gsk/service";
import type { PolicyScope } from "@gsk/ttl-policy";
import { type Context, Hono } from "hono";
import { type DescribeRouteOptions, describeRoute } from "hono-openapi";
import type { AppEnv } from "../deps.ts";
import { requireScope, withRedis } from "../http-util.ts";
import { authProblems, jsonContent, pathParam, problems, secured } from "../openapi.ts";

const accountParam = pathParam("accountId", IdSchema, "The account", "acme");
const flowParam = pathParam("flowId", IdSchema, "The flow", "orders");

function scopeOf(c: Context<AppEnv>): PolicyScope {
  requireScope(c, "ttl:admin");
  const params = c.req.param() as Record<string, string>;
  const scope = params.flowId
    ? check(FlowParamSchema, params, "path")
    : check(AccountParamSchema, params, "path");
  if (!canSeeAccount(c.var.principal, scope.accountId)) throw notFound(scope);
  return scope;
}

const describe = (scope: PolicyScope) =>
  scope.flowId ? `flow ${scope.flowId} of account ${scope.accountId}` : `account ${scope.accountId}`;

const notFound = (scope: PolicyScope) => new ApiError("not_found", `No TTL policy for ${describe(scope)}`);

/** `/v1/ttl-policies`: account and flow policies, and the effective TTL with its source. */
export function ttlPolicyRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  const get = async (c: Context<AppEnv>) => {
    const scope = scopeOf(c);
    const policy = await withRedis(c.var.deps, () => c.var.deps.policies.get(scope));
    if (!policy) throw notFound(scope);
    return c.json(policy);
  };
  const put = async (c: Context<AppEnv>) => {
    const scope = scopeOf(c);
    const policy = check(TtlPolicySchema, await jsonBody(c), "TTL policy");
    await withRedis(c.var.deps, () => c.var.deps.policies.set(scope, policy));
    c.var.deps.logger.info(
      { principal: c.var.principal.id, ...scope, ttlSeconds: policy.ttlSeconds },
      "ttl policy set",
    );
    return c.json({ ttlSeconds: policy.ttlSeconds });
  };
  const del = async (c: Context<AppEnv>) => {
    const scope = scopeOf(c);
    const existed = await withRedis(c.var.deps, () => c.var.deps.policies.delete(scope));
    if (!existed) throw notFound(scope);
    c.var.deps.logger.info({ principal: c.var.principal.id, ...scope }, "ttl policy deleted");
    return c.body(null, 204);
  };

  const scopes = [
    { path: "/accounts/:accountId", scope: "account", params: [accountParam] },
    { path: "/accounts/:accountId/flows/:flowId", scope: "flow", params: [accountParam, flowParam] },
  ];
  for (const { path, scope, params } of scopes) {
    const describe = (summary: string, responses: DescribeRouteOptions["responses"], body?: boolean) =>
      describeRoute({
        ...secured,
        summary: `${summary} the ${scope} TTL policy (ttl:admin)`,
        parameters: params,
        ...(body ? { requestBody: { required: true, content: jsonContent(TtlPolicySchema) } } : {}),
        responses: { ...responses, ...problems(authProblems) },
      });
    app
      .get(
        path,
        describe("Read", {
          200: { description: "The policy", content: jsonContent(TtlPolicySchema) },
          ...problems({ 404: "No policy" }),
        }),
        get,
      )
      .put(
        path,
        describe(
          "Set",
          {
            200: { description: "The stored policy", content: jsonContent(TtlPolicySchema) },
            ...problems({ 400: "Invalid policy" }),
          },
          true,
        ),
        put,
      )
      .delete(
        path,
        describe("Delete", { 204: { description: "Deleted" }, ...problems({ 404: "No policy" }) }),
        del,
      );
  }

  app.get(
    "/effective",
    describeRoute({
      ...secured,
      summary: "The effective TTL of a flow and where it comes from (ttl:admin)",
      parameters: [
        { ...accountParam, in: "query" },
        { ...flowParam, in: "query" },
      ],
      responses: {
        200: { description: "Effective TTL", content: jsonContent(EffectiveTtlSchema) },
        ...problems({ 400: "Invalid query", ...authProblems }),
      },
    }),
    async (c) => {
      requireScope(c, "ttl:admin");
      const { accountId, flowId } = check(EffectiveQuerySchema, c.req.query(), "query");
      if (!canSeeAccount(c.var.principal, accountId)) {
        throw new ApiError("not_found", `No account ${accountId}`);
      }
      return c.json(await withRedis(c.var.deps, () => c.var.deps.policies.effective(accountId, flowId)));
    },
  );

  return app;
}
