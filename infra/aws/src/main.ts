// Synthesizes the stack to cdk.out/ (deploy with the AWS CDK CLI: `cdk deploy --app cdk.out`),
// checked by cdk-nag's AwsSolutions rules: an unsuppressed finding fails the synth.
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { GskStack } from "./stack.ts";

const app = new App({ outdir: "cdk.out" });
new GskStack(app, "GetSetKey", { description: "Get-Set Key: ingest queue, DLQ and API Gateway" });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
