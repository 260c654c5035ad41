import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRegistry, opsRoutes } from "@gsk/service";
import { describe, expect, it } from "vitest";
import { APPS, type AppName, isApp, unknownVariables } from "./apps.ts";
import { DEPLOY_DIR, type Manifest, parseDocuments, renderOverlay, validateManifest } from "./manifests.ts";

const OVERLAYS = ["production", "local"] as const;
const secretExamples = parseDocuments(readFileSync(join(DEPLOY_DIR, "k8s", "secrets.example.yaml"), "utf8"));

function find(manifests: Manifest[], kind: string, name?: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
}

function one(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = find(manifests, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as Manifest;
}

/** The environment a Deployment's container gets: envFrom ConfigMaps and Secrets (the examples), then env. */
function containerEnv(manifests: Manifest[], container: Manifest): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, one(manifests, "ConfigMap", from.configMapRef.name).data);
    if (from.secretRef) Object.assign(env, one(secretExamples, "Secret", from.secretRef.name).stringData);
  }
  for (const { name, value } of container.env ?? []) env[name] = value;
  return env;
}

const ops = opsRoutes(createRegistry(), { ready: {}, stopping: () => false });

describe.each(OVERLAYS)("the %s overlay", (overlay) => {
  const manifests = renderOverlay(overlay);
  const deployments = find(manifests, "Deployment");

  it("renders one Deployment per app, each manifest valid against its Kubernetes, KEDA or Prometheus-operator schema", async () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(Object.keys(APPS).sort());
    for (const manifest of manifests) {
      await expect(
        validateManifest(manifest),
        `${manifest.kind} ${manifest.metadata.name}`,
      ).resolves.toBeUndefined();
      if (manifest.kind !== "Namespace") expect(manifest.metadata.namespace).toBe("gsk");
    }
  });

  it.each(Object.keys(APPS))(
    "gives %s only variables it reads, which its env schema accepts",
    async (app) => {
      if (!isApp(app)) throw new Error(app);
      const pod = one(manifests, "Deployment", app).spec.template.spec;
      const container = pod.containers[0];
      // Its own Secret, holding only what it reads.
      const secrets = (container.envFrom as Manifest[]).flatMap((from) =>
        from.secretRef ? [from.secretRef.name] : [],
      );
      expect(secrets).toEqual([`gsk-${app}`]);
      const env = containerEnv(manifests, container);
      expect(unknownVariables(app, env)).toEqual([]);
      expect(env.NODE_OPTIONS).toBe(APPS[app].NODE_OPTIONS);
      const parsed = APPS[app].parseEnv(env);
      // Probes on the port the app listens on, at routes it serves.
      const port = container.ports.find((p: { name: string }) => p.name === "http");
      expect(port.containerPort).toBe(parsed.PORT);
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        expect(probe.httpGet.port).toBe("http");
        expect((await ops.request(probe.httpGet.path)).status).toBe(200);
      }
      expect(container.readinessProbe.httpGet.path).toBe("/readyz");
      expect(container.livenessProbe.httpGet.path).toBe("/healthz");
      // The app finishes its shutdown inside the grace period.
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
        (parsed as { SHUTDOWN_TIMEOUT_MS: number }).SHUTDOWN_TIMEOUT_MS,
      );
      expect(one(manifests, "ServiceAccount", pod.serviceAccountName)).toBeDefined();
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      // A disruption budget for every app.
      const pdbs = find(manifests, "PodDisruptionBudget").filter(
        (pdb) => pdb.spec.selector.matchLabels["app.kubernetes.io/name"] === app,
      );
      expect(pdbs).toHaveLength(1);
    },
  );

  it("scales ingest-worker with KEDA on queue depth including in-flight messages, one pod per consumer slots", () => {
    const worker = one(manifests, "Deployment", "ingest-worker");
    const env = containerEnv(manifests, worker.spec.template.spec.containers[0]);
    const scaled = one(manifests, "ScaledObject", "ingest-worker");
    expect(scaled.spec.scaleTargetRef.name).toBe("ingest-worker");
    expect(worker.spec.replicas).toBeUndefined();
    const [trigger] = scaled.spec.triggers;
    expect(trigger.type).toBe("aws-sqs-queue");
    expect(trigger.metadata.queueURLFromEnv).toBe("SQS_QUEUE_URL");
    expect(env.SQS_QUEUE_URL).toMatch(/^https?:\/\//);
    expect(trigger.metadata.awsRegion).toBe(env.AWS_REGION);
    expect(trigger.metadata.scaleOnInFlight).toBe("true");
    expect(Number(trigger.metadata.queueLength)).toBe(APPS["ingest-worker"].parseEnv(env).INGEST_CONCURRENCY);
    expect(one(manifests, "TriggerAuthentication", trigger.authenticationRef.name)).toBeDefined();
    // KEDA makes its own HPA; a second one on the same Deployment would fight it.
    const hpaTargets = find(manifests, "HorizontalPodAutoscaler").map((h) => h.spec.scaleTargetRef.name);
    expect(hpaTargets).toEqual(["get-api"]);
  });

  it("keeps the archiver's admin routes reachable while MongoDB is down", () => {
    expect(one(manifests, "Service", "archiver").spec.publishNotReadyAddresses).toBe(true);
  });
});

describe("the production overlay", () => {
  const manifests = renderOverlay("production");

  it("takes images from a registry at a fixed tag, and AWS access from pod identity, never from a key", () => {
    for (const d of find(manifests, "Deployment")) {
      const image: string = d.spec.template.spec.containers[0].image;
      expect(image).toMatch(/^[a-z0-9.-]+\.[a-z]+\/gsk\/[a-z-]+:[0-9][\w.-]*$/);
    }
    const auth = one(manifests, "TriggerAuthentication", "ingest-worker-sqs");
    expect(auth.spec.podIdentity).toEqual({ provider: "aws", identityOwner: "workload" });
    for (const app of ["ingest-worker", "get-api"] satisfies AppName[]) {
      const sa = one(manifests, "ServiceAccount", app);
      expect(sa.metadata.annotations?.["eks.amazonaws.com/role-arn"]).toMatch(/^arn:aws:iam::\d{12}:role\//);
    }
    for (const secret of secretExamples) expect(find(manifests, "Secret", secret.metadata.name)).toEqual([]);
  });

  it("lets Prometheus scrape every app", () => {
    for (const app of Object.keys(APPS)) {
      const monitor = one(manifests, "PodMonitor", app);
      expect(monitor.spec.selector.matchLabels["app.kubernetes.io/name"]).toBe(app);
      expect(monitor.spec.podMetricsEndpoints[0]).toMatchObject({ port: "http", path: "/metrics" });
    }
  });
});
