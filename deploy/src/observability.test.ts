import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DASHBOARD_FILE, dashboard } from "./dashboard.ts";
import { DEPLOY_DIR, type Manifest, parseDocuments } from "./manifests.ts";

const rules = parseDocuments(
  readFileSync(join(DEPLOY_DIR, "k8s", "base", "alerts.yaml"), "utf8"),
)[0] as Manifest;
const runbook = readFileSync(join(DEPLOY_DIR, "..", "docs", "runbook.md"), "utf8");

describe("dashboard and alerts", () => {
  it("the committed dashboard is what src/dashboard.ts builds (pnpm --filter @gsk/deploy dashboard)", () => {
    expect(JSON.parse(readFileSync(DASHBOARD_FILE, "utf8"))).toEqual(dashboard());
  });

  it("every alert has a summary and a runbook section that exists", () => {
    const alerts = rules.spec.groups.flatMap(
      (g: { rules: { alert: string; annotations: Record<string, string> }[] }) => g.rules,
    );
    expect(alerts.map((a: { alert: string }) => a.alert)).toEqual([
      "GskArchiveStale",
      "GskDeadLetters",
      "GskIngestBacklogOld",
      "GskApiErrorRatio",
      "GskWorkerNotPolling",
      "GskPodsNotReady",
    ]);
    for (const alert of alerts) {
      expect(alert.annotations.summary, alert.alert).toBeTruthy();
      expect(alert.annotations.runbook).toBe(`docs/runbook.md#${alert.alert.toLowerCase()}`);
      expect(runbook).toContain(`\n## ${alert.alert}\n`);
    }
  });
});
