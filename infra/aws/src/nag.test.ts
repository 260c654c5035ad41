import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { expect, it } from "vitest";
import { GskStack } from "./stack.ts";

it("cdk-nag's AwsSolutions rules find nothing the stack does not acknowledge with a reason", () => {
  const outdir = mkdtempSync(join(tmpdir(), "gsk-nag-"));
  try {
    const app = new App({ outdir });
    new GskStack(app, "Nag");
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Synthesis throws ValidationFailed listing every unacknowledged finding.
    expect(() => app.synth()).not.toThrow();
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  // Synthesis with every rule pack takes seconds, more on a loaded machine.
}, 60_000);
