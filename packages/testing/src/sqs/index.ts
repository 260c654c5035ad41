import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { exited, reapOnExit } from "../processes.ts";

const SERVER = fileURLToPath(new URL("./fauxqs-server.ts", import.meta.url));

/** A fauxqs server in its own process, bound to 127.0.0.1. */
export interface SqsServer {
  readonly endpoint: string;
  /** The server's process id (to read its CPU time). */
  readonly pid: number | undefined;
  /** A new client with an explicit endpoint and dummy credentials. */
  client(): SQSClient;
  stop(): Promise<void>;
}

/** Starts fauxqs on a free port (or `port`) in a child process that dies with this one. */
export async function startSqs(port = 0): Promise<SqsServer> {
  const child = spawn(process.execPath, ["--no-warnings", SERVER, String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  reapOnExit(child);
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve((JSON.parse(line) as { endpoint: string }).endpoint);
    });
    child.once("exit", (code) => reject(new Error(`fauxqs exited with ${code} before listening`)));
  });
  return {
    endpoint,
    pid: child.pid,
    client: () => sqsClient(endpoint),
    async stop() {
      child.kill("SIGKILL");
      await exited(child);
    },
  };
}

/** An SQS client for a local endpoint. */
export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

export interface QueuePair {
  queueUrl: string;
  dlqUrl: string;
}

export interface QueueOptions {
  /** Receives before SQS moves a message to the DLQ (default 5). */
  maxReceiveCount?: number;
  /** Seconds a received message stays invisible (default 30). */
  visibilityTimeout?: number;
  /** Both queues' MaximumMessageSize in bytes (default SQS's, 1 MiB). */
  maxMessageSize?: number;
}

/** Creates a queue and its dead-letter queue, joined by a redrive policy. */
export async function createQueueWithDlq(
  client: SQSClient,
  name: string,
  options: QueueOptions = {},
): Promise<QueuePair> {
  const size = options.maxMessageSize ? { MaximumMessageSize: String(options.maxMessageSize) } : {};
  const dlq = await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq`, Attributes: size }));
  const dlqUrl = dlq.QueueUrl!;
  const attrs = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        ...size,
        VisibilityTimeout: String(options.visibilityTimeout ?? 30),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: attrs.Attributes?.QueueArn,
          maxReceiveCount: options.maxReceiveCount ?? 5,
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl!, dlqUrl };
}

/** Approximate number of visible plus in-flight messages on a queue. */
export async function queueDepth(client: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Receives (and leaves) up to `max` messages with all their attributes, for assertions. */
export async function drainQueue(client: SQSClient, queueUrl: string, max = 10) {
  const { Messages } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(max, 10),
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["All"],
      WaitTimeSeconds: 0,
    }),
  );
  return Messages ?? [];
}

/** Empties a queue. */
export async function purgeQueue(client: SQSClient, queueUrl: string): Promise<void> {
  await client.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
}
