import { envelopeJsonSchema } from "@gsk/schema";
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

export interface GskStackProps extends StackProps {
  /** Largest serialized `data` (MAX_DATA_BYTES); SQS itself accepts 256 KiB bodies. */
  maxDataBytes?: number;
  /** Receives before SQS moves a message to the DLQ. */
  maxReceiveCount?: number;
}

/**
 * The envelope JSON Schema as API Gateway's models take it (draft-04): generated from the same
 * valibot schema the worker and gateway mode validate with.
 */
export function envelopeModelSchema(maxDataBytes?: number): apigw.JsonSchema {
  const { $schema: _draft07, ...schema } = envelopeJsonSchema(maxDataBytes) as Record<string, unknown>;
  return { schema: apigw.JsonSchemaVersion.DRAFT4, ...schema } as apigw.JsonSchema;
}

/** SQS queue + DLQ, and a REST API whose POST /v1/data validates the envelope and sends it to SQS. */
export class GskStack extends Stack {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly api: apigw.RestApi;

  constructor(scope: Construct, id: string, props: GskStackProps = {}) {
    super(scope, id, props);
    this.deadLetterQueue = new sqs.Queue(this, "IngestDlq", {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, "IngestQueue", {
      visibilityTimeout: Duration.seconds(30),
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    this.api = new apigw.RestApi(this, "IngestApi", {
      restApiName: "gsk-ingest",
      description: "Kairos modules POST envelopes here; they are validated and queued for the ingest worker.",
      deployOptions: { stageName: "v1", throttlingRateLimit: 1000, throttlingBurstLimit: 2000 },
      apiKeySourceType: apigw.ApiKeySourceType.HEADER,
    });
    const model = this.api.addModel("Envelope", {
      contentType: "application/json",
      modelName: "Envelope",
      schema: envelopeModelSchema(props.maxDataBytes),
    });
    const role = new iam.Role(this, "ApiToSqs", {
      assumedBy: new iam.ServicePrincipal("apigateway.amazonaws.com"),
    });
    this.queue.grantSendMessages(role);

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
        requestTemplates: {
          "application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)",
        },
        integrationResponses: [
          {
            statusCode: "202",
            responseTemplates: {
              "application/json":
                '{ "messageId": "$input.path(\'$.SendMessageResponse.SendMessageResult.MessageId\')" }',
            },
          },
          {
            statusCode: "503",
            selectionPattern: "5\\d{2}",
            responseTemplates: { "application/json": '{ "title": "Service Unavailable", "status": 503 }' },
          },
        ],
      },
    });
    const data = this.api.root.addResource("v1").addResource("data");
    data.addMethod("POST", integration, {
      apiKeyRequired: true,
      requestValidator: new apigw.RequestValidator(this, "EnvelopeValidator", {
        restApi: this.api,
        validateRequestBody: true,
        validateRequestParameters: false,
      }),
      requestModels: { "application/json": model },
      methodResponses: [{ statusCode: "202" }, { statusCode: "503" }],
    });
    const plan = this.api.addUsagePlan("Producers", { throttle: { rateLimit: 1000, burstLimit: 2000 } });
    plan.addApiStage({ stage: this.api.deploymentStage });
  }
}
