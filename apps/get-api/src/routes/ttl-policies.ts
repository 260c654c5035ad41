import { AccountParamSchema, EffectiveQuerySchema, FlowParamSchema, TtlPolicySchema } from "@gsk/schema";
import { ApiError, canSeeAccount } from "@gsk/service";
import type { PolicyScope } from "@gsk/ttl-policy";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../deps.ts";
import { check, jsonBody, requireScope, withRedis } from "../http-util.ts";

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

  for (const path of ["/accounts/:accountId", "/accounts/:accountId/flows/:flowId"]) {
    app.get(path, get).put(path, put).delete(path, del);
  }

  app.get("/effective", async (c) => {
    requireScope(c, "ttl:admin");
    const { accountId, flowId } = check(EffectiveQuerySchema, c.req.query(), "query");
    if (!canSeeAccount(c.var.principal, accountId)) {
      throw new ApiError("not_found", `No account ${accountId}`);
    }
    return c.json(await withRedis(c.var.deps, () => c.var.deps.policies.effective(accountId, flowId)));
  });

  return app;
}
