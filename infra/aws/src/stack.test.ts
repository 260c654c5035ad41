import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { ENVELOPE_OVERHEAD_BYTES, GskStack, queueMessageBytes } from "./stack.ts";

const template = Template.fromStack(
  new GskStack(new App(), "Test", { maxReceiveCount: 7, maxDataBytes: 100_000 }),
);

type Resource = { Properties: Record<string, unknown> };
const method = Object.values(template.findResources("AWS::ApiGateway::Method")).find(
  (m) => (m as Resource).Properties.HttpMethod === "POST",
) as Resource;
const integrationResponses = (
  method.Properties.Integration as {
    IntegrationResponses: { StatusCode: string; SelectionPattern?: string }[];
  }
).IntegrationResponses;

describe("GskStack", () => {
  it("has the ingest queue, sized for MAX_DATA_BYTES plus the envelope, with a redrive policy to a DLQ that takes any message", () => {
    template.resourceCountIs("AWS::SQS::Queue", 2);
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { maxReceiveCount: 7, deadLetterTargetArn: Match.anyValue() },
      VisibilityTimeout: 30,
      MaximumMessageSize: 100_000 + ENVELOPE_OVERHEAD_BYTES,
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      MaximumMessageSize: 1_048_576,
      MessageRetentionPeriod: 14 * 86_400,
    });
    expect(() => queueMessageBytes(1_048_576)).toThrow(/exceeds SQS's 1048576-byte messages/);
  });

  it("answers 202 only for a 2xx of SQS; 5xx is 503 with Retry-After; everything else is the default 502", () => {
    const byPattern = Object.fromEntries(
      integrationResponses.map((r) => [r.SelectionPattern ?? "default", r.StatusCode]),
    );
    expect(byPattern).toEqual({ default: "502", "2\\d{2}": "202", "5\\d{2}": "503" });
    const unavailable = integrationResponses.find((r) => r.StatusCode === "503") as unknown as {
      ResponseParameters: Record<string, string>;
    };
    expect(unavailable.ResponseParameters).toMatchObject({
      "method.response.header.Retry-After": "'5'",
      "method.response.header.Content-Type": "'application/problem+json'",
    });
  });

  it("validates POST /v1/data against the envelope model, answers a rejected body with problem+json, and requires an API key", () => {
    expect(method.Properties).toMatchObject({
      ApiKeyRequired: true,
      RequestModels: { "application/json": expect.anything() },
      Integration: expect.objectContaining({ Type: "AWS", IntegrationHttpMethod: "POST" }),
    });
    template.hasResourceProperties("AWS::ApiGateway::RequestValidator", { ValidateRequestBody: true });
    template.hasResourceProperties("AWS::ApiGateway::Model", {
      Name: "Envelope",
      Schema: Match.objectLike({ $schema: "http://json-schema.org/draft-04/schema#" }),
    });
    template.hasResourceProperties("AWS::ApiGateway::GatewayResponse", {
      ResponseType: "BAD_REQUEST_BODY",
      StatusCode: "400",
      ResponseParameters: { "gatewayresponse.header.Content-Type": "'application/problem+json'" },
      ResponseTemplates: {
        "application/json": Match.stringLikeRegexp("\\$context\\.error\\.validationErrorString"),
      },
    });
    template.resourceCountIs("AWS::ApiGateway::ApiKey", 1);
    template.hasResourceProperties("AWS::ApiGateway::UsagePlanKey", { KeyType: "API_KEY" });
  });

  it("writes access logs and alarms on dead letters, an ageing backlog and API 5xx", () => {
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
    });
    template.resourceCountIs("AWS::CloudWatch::Alarm", 3);
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateNumberOfMessagesVisible",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      AlarmActions: [Match.anyValue()],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "ApproximateAgeOfOldestMessage",
      Threshold: 300,
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "5XXError", Threshold: 0.01 });
  });

  it("gives each workload only the SQS actions it needs, and outputs what the apps are configured with", () => {
    const policies = Object.values(template.findResources("AWS::IAM::ManagedPolicy")).map((p) => {
      const statements = (p as Resource).Properties.PolicyDocument as {
        Statement: { Action: string | string[] }[];
      };
      return statements.Statement.flatMap((s) => s.Action).sort();
    });
    expect(policies).toContainEqual(["sqs:SendMessage"]);
    const worker = policies.find((actions) => actions.includes("sqs:ReceiveMessage"));
    expect(worker?.every((action) => action.startsWith("sqs:") && !action.includes("*"))).toBe(true);
    expect(worker).toEqual(
      expect.arrayContaining([
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
      ]),
    );
    expect(Object.keys(template.toJSON().Outputs)).toEqual(
      expect.arrayContaining([
        "ApiUrl",
        "ApiKeyId",
        "QueueUrl",
        "DeadLetterQueueUrl",
        "AlarmTopicArn",
        "IngestWorkerPolicyArn",
        "GatewayModePolicyArn",
      ]),
    );
  });
});
