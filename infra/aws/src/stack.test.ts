import { createEnvelopeSchema } from "@gsk/schema";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { envelopeModelSchema, GskStack } from "./stack.ts";

const template = Template.fromStack(new GskStack(new App(), "Test", { maxReceiveCount: 7 }));

describe("GskStack", () => {
  it("has the ingest queue with a redrive policy to the DLQ", () => {
    template.resourceCountIs("AWS::SQS::Queue", 2);
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { maxReceiveCount: 7, deadLetterTargetArn: Match.anyValue() },
      VisibilityTimeout: 30,
    });
  });

  it("validates POST /v1/data against the envelope model and requires an API key", () => {
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "POST",
      ApiKeyRequired: true,
      RequestModels: { "application/json": Match.anyValue() },
      Integration: Match.objectLike({ Type: "AWS", IntegrationHttpMethod: "POST" }),
    });
    template.hasResourceProperties("AWS::ApiGateway::RequestValidator", { ValidateRequestBody: true });
    template.hasResourceProperties("AWS::ApiGateway::Model", {
      Name: "Envelope",
      Schema: Match.objectLike({
        $schema: "http://json-schema.org/draft-04/schema#",
        required: Match.anyValue(),
      }),
    });
  });

  it("uses the same rules as the valibot envelope schema", () => {
    const model = envelopeModelSchema() as { properties: Record<string, { pattern?: string }> };
    const accountPattern = new RegExp(model.properties.accountId?.pattern ?? "");
    const schema = createEnvelopeSchema();
    for (const accountId of ["acme", "a.b-c_1", "-bad", "", "x".repeat(65), "sp ace"]) {
      const valid = v.safeParse(schema, { accountId, flowId: "f", webhookKeys: ["k"], data: 1 }).success;
      expect(accountPattern.test(accountId), accountId).toBe(valid);
    }
  });
});
