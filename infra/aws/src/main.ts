// Synthesizes the stack to cdk.out/ (deploy with the AWS CDK CLI: `cdk deploy --app cdk.out`).
import { App } from "aws-cdk-lib";
import { GskStack } from "./stack.ts";

const app = new App({ outdir: "cdk.out" });
new GskStack(app, "GetSetKey", { description: "Get-Set Key: ingest queue, DLQ and API Gateway" });
app.synth();
