import { DEFAULT_MAX_DATA_BYTES } from "@gsk/schema";
import { CfnOutput, Duration, Stack, type StackProps, Validations } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { envelopeModelSchema } from "./model.ts";
import {
  ACCEPTED_TEMPLATE,
  BAD_REQUEST_BODY_TEMPLATE,
  REFUSED_TEMPLATE,
  SEND_MESSAGE_TEMPLATE,
  UNAVAILABLE_TEMPLATE,
} from "./templates.ts";

/**
 * Room for everything of an envelope but `data`: accountId and flowId (64 each), 100 webhook keys
 * of up to 128 characters, producedAt, eventId (128), the JSON around them, and the message
 * attributes the worker adds when it dead-letters one.
 */
export const ENVELOPE_OVERHEAD_BYTES = 16_384;
/** The largest message SQS takes. */
const SQS_MAX_MESSAGE_BYTES = 1_048_576;

export interface GskStackProps extends StackProps {
  /** Largest serialized `data` (the apps' MAX_DATA_BYTES); the queue takes it plus the envelope. */
  maxDataBytes?: number;
  /** Receives before SQS moves a message to the DLQ. */
  maxReceiveCount?: number;
}

/** The queue's MaximumMessageSize for a MAX_DATA_BYTES: the data plus the envelope around it. */
export function queueMessageBytes(maxDataBytes: number): number {
  const bytes = maxDataBytes + ENVELOPE_OVERHEAD_BYTES;
  if (bytes > SQS_MAX_MESSAGE_BYTES) {
    throw new Error(
      `maxDataBytes ${maxDataBytes} + ${ENVELOPE_OVERHEAD_BYTES} of envelope exceeds SQS's ${SQS_MAX_MESSAGE_BYTES}-byte messages`,
    );
  }
  return bytes;
}

/**
 * The ingress: SQS queue + DLQ, a REST API whose POST /v1/data validates the envelope and sends
 * it to SQS (202 only when SQS accepted it), an API key and usage plan for the producers, access
 * logs, alarms, and the least-privilege policies of the workloads.
 */
export class GskStack extends Stack {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly api: apigw.RestApi;

  constructor(scope: Construct, id: string, props: GskStackProps = {}) {
    super(scope, id, props);
    const maxDataBytes = props.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES;

    // The DLQ takes the largest SQS message: a redriven message must always fit.
    this.deadLetterQueue = new sqs.Queue(this, "IngestDlq", {
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: SQS_MAX_MESSAGE_BYTES,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, "IngestQueue", {
      visibilityTimeout: Duration.seconds(30),
      retentionPeriod: Duration.days(4),
      maxMessageSizeBytes: queueMessageBytes(maxDataBytes),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    const accessLogs = new logs.LogGroup(this, "IngestApiAccessLogs", {
      retention: logs.RetentionDays.ONE_MONTH,
    });
    this.api = new apigw.RestApi(this, "IngestApi", {
      restApiName: "gsk-ingest",
      description: "Kairos modules POST envelopes here; they are validated and queued for the ingest worker.",
      cloudWatchRole: true,
      deployOptions: {
        stageName: "v1",
        throttlingRateLimit: 1000,
        throttlingBurstLimit: 2000,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
      apiKeySourceType: apigw.ApiKeySourceType.HEADER,
    });
    // A body the model rejects: 400 problem+json naming the problem (not API Gateway's {"message"}).
    this.api.addGatewayResponse("BadRequestBody", {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      statusCode: "400",
      responseHeaders: { "Content-Type": "'application/problem+json'" },
      templates: { "application/json": BAD_REQUEST_BODY_TEMPLATE },
    });
    const model = this.api.addModel("Envelope", {
      contentType: "application/json",
      modelName: "Envelope",
      schema: envelopeModelSchema(maxDataBytes),
    });
    const role = new iam.Role(this, "ApiToSqs", {
      assumedBy: new iam.ServicePrincipal("apigateway.amazonaws.com"),
    });
    this.queue.grantSendMessages(role);

    const problem = { "method.response.header.Content-Type": "'application/problem+json'" };
    const integration = new apigw.AwsIntegration({
      service: "sqs",
      path: `${Stack.of(this).account}/${this.queue.queueName}`,
      integrationHttpMethod: "POST",
      options: {
        credentialsRole: role,
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        requestParameters: {
          "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
        },
        requestTemplates: { "application/json": SEND_MESSAGE_TEMPLATE },
        // The response without a selectionPattern is the default: whatever SQS answered that is
        // neither 2xx nor 5xx (AccessDenied, too large, invalid characters...) is "not accepted",
        // never a 202.
        integrationResponses: [
          {
            statusCode: "502",
            responseParameters: problem,
            responseTemplates: { "application/json": REFUSED_TEMPLATE },
          },
          {
            statusCode: "202",
            selectionPattern: "2\\d{2}",
            responseTemplates: { "application/json": ACCEPTED_TEMPLATE },
          },
          {
            statusCode: "503",
            selectionPattern: "5\\d{2}",
            responseParameters: { ...problem, "method.response.header.Retry-After": "'5'" },
            responseTemplates: { "application/json": UNAVAILABLE_TEMPLATE },
          },
        ],
      },
    });
    const data = this.api.root.addResource("v1").addResource("data");
    const headerParams = (names: string[]) =>
      Object.fromEntries(names.map((name) => [`method.response.header.${name}`, true]));
    data.addMethod("POST", integration, {
      apiKeyRequired: true,
      requestValidator: new apigw.RequestValidator(this, "EnvelopeValidator", {
        restApi: this.api,
        validateRequestBody: true,
        validateRequestParameters: true,
      }),
      requestModels: { "application/json": model },
      methodResponses: [
        { statusCode: "202" },
        { statusCode: "502", responseParameters: headerParams(["Content-Type"]) },
        { statusCode: "503", responseParameters: headerParams(["Content-Type", "Retry-After"]) },
      ],
    });

    // Producers call with an API key (x-api-key) of the usage plan; its value is read with
    // `aws apigateway get-api-key --api-key <ApiKeyId> --include-value`.
    const plan = this.api.addUsagePlan("Producers", { throttle: { rateLimit: 1000, burstLimit: 2000 } });
    plan.addApiStage({ stage: this.api.deploymentStage });
    const apiKey = this.api.addApiKey("ProducerKey", { description: "Kairos producers" });
    plan.addApiKey(apiKey);

    this.acknowledge();
    const policies = this.workloadPolicies();
    const alarmTopic = this.alarms();

    new CfnOutput(this, "ApiUrl", { value: `${this.api.url}v1/data`, description: "POST envelopes here" });
    new CfnOutput(this, "ApiKeyId", {
      value: apiKey.keyId,
      description: "The producers' API key (value: aws apigateway get-api-key --include-value)",
    });
    new CfnOutput(this, "QueueUrl", { value: this.queue.queueUrl, description: "SQS_QUEUE_URL" });
    new CfnOutput(this, "DeadLetterQueueUrl", {
      value: this.deadLetterQueue.queueUrl,
      description: "SQS_DLQ_URL",
    });
    new CfnOutput(this, "AlarmTopicArn", {
      value: alarmTopic.topicArn,
      description: "Subscribe the on-call here",
    });
    for (const [name, policy] of Object.entries(policies)) {
      new CfnOutput(this, `${name}PolicyArn`, {
        value: policy.managedPolicyArn,
        description: `Attach to the ${name} role`,
      });
    }
  }

  /** The AwsSolutions findings this stack accepts, each with its reason (cdk-nag fails on any other). */
  private acknowledge(): void {
    const method = this.api.root.getResource("v1")?.getResource("data")?.node.findChild("POST");
    if (method === undefined) throw new Error("POST /v1/data is missing");
    const producers =
      "Producers are machines, authenticated by an API key of the usage plan (docs/adr/0008-ingress-api-keys.md); there are no end users for Cognito or IAM sign-in.";
    Validations.of(method).acknowledge({ id: "AwsSolutions-APIG4", reason: producers });
    Validations.of(method).acknowledge({ id: "AwsSolutions-COG4", reason: producers });
    Validations.of(this.api.deploymentStage).acknowledge({
      id: "AwsSolutions-APIG3",
      reason:
        "Throttled per key by the usage plan and per stage; a WAF web ACL is the deployer's choice (cost, rules) and attaches to the stage without a change here.",
    });
    const cloudWatchRole = this.api.node.findChild("CloudWatchRole");
    Validations.of(cloudWatchRole).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
      reason:
        "The account-level role API Gateway writes its logs with; AWS's managed policy is the one its documentation prescribes.",
    });
  }

  /**
   * Least-privilege policies for the workloads' roles (IRSA or EKS Pod Identity; the roles
   * themselves belong to the cluster's account setup): the worker (which KEDA also uses to read
   * the queue depth), get-api in gateway mode.
   */
  private workloadPolicies(): Record<"IngestWorker" | "GatewayMode", iam.ManagedPolicy> {
    const worker = new iam.ManagedPolicy(this, "IngestWorkerPolicy", {
      description:
        "ingest-worker: consume the queue, dead-letter, list and replay the DLQ; KEDA reads the queue depth",
      statements: [
        new iam.PolicyStatement({
          actions: [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
            // `ingest-worker dlq replay` sends dead letters back here.
            "sqs:SendMessage",
          ],
          resources: [this.queue.queueArn],
        }),
        new iam.PolicyStatement({
          actions: [
            "sqs:SendMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
          ],
          resources: [this.deadLetterQueue.queueArn],
        }),
      ],
    });
    const gateway = new iam.ManagedPolicy(this, "GatewayModePolicy", {
      description: "get-api in gateway mode: send to the ingest queue",
      statements: [
        new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [this.queue.queueArn] }),
      ],
    });
    return { IngestWorker: worker, GatewayMode: gateway };
  }

  /** The alarms of the ingress, to one SNS topic: dead letters, a backlog that ages, API 5xx. */
  private alarms(): sns.Topic {
    const topic = new sns.Topic(this, "Alarms", { displayName: "Get-Set Key alarms", enforceSSL: true });
    const period = Duration.minutes(1);
    const alarms = [
      new cloudwatch.Alarm(this, "DeadLettersAlarm", {
        alarmDescription:
          "Messages are in the DLQ: list them with `ingest-worker dlq list`, fix the cause, replay.",
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period,
          statistic: "Maximum",
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, "OldestMessageAlarm", {
        alarmDescription:
          "The oldest message waits more than 5 minutes: the workers do not keep up or do not poll.",
        metric: this.queue.metricApproximateAgeOfOldestMessage({ period, statistic: "Maximum" }),
        threshold: 300,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, "Api5xxAlarm", {
        alarmDescription:
          "More than 1 % of POST /v1/data answered 5xx for 5 minutes: messages are not being accepted.",
        metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: "Average" }),
        threshold: 0.01,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const alarm of alarms) alarm.addAlarmAction(new actions.SnsAction(topic));
    return topic;
  }
}
