#!/usr/bin/env node
// ingest-worker dlq list [--code C] [--limit N] | dlq replay [--code C] [--max N] [--dry-run]
// Configured by the worker's environment. Progress goes to stderr; the last stdout line is JSON.
import { SQSClient } from "@aws-sdk/client-sqs";
import { REJECT_CODES } from "@gsk/schema";
import { cliEnv, parseCommandLine, progress, runCli } from "@gsk/service";
import * as v from "valibot";
import { listDlq, REDRIVEN, replayDlq } from "./dlq.ts";
import { parseEnv } from "./env.ts";

const USAGE =
  "usage: ingest-worker dlq list [--code C] [--limit N] | dlq replay [--code C] [--max N] [--dry-run]";
const CODES = [...REJECT_CODES, REDRIVEN] as const;

const count = (fallback: string, max: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, "must be a whole number"),
      v.transform(Number),
      v.minValue(1, "must be at least 1"),
      v.maxValue(max, `must be at most ${max}`),
    ),
    fallback,
  );

const FlagsSchema = v.object({
  command: v.picklist(["dlq list", "dlq replay"], `the command must be dlq list or dlq replay (${USAGE})`),
  code: v.optional(v.picklist(CODES, `must be one of ${CODES.join(", ")}`)),
  limit: count("10", 1000),
  max: count("1000000", 1_000_000),
  "dry-run": v.optional(v.boolean(), false),
});

async function main(argv: string[]): Promise<unknown> {
  const flags = parseCommandLine(
    argv,
    {
      code: { type: "string" },
      limit: { type: "string" },
      max: { type: "string" },
      "dry-run": { type: "boolean" },
    },
    FlagsSchema,
    USAGE,
  );
  const env = cliEnv(() => parseEnv(process.env));
  const sqs = new SQSClient({
    region: env.AWS_REGION,
    ...(env.SQS_ENDPOINT ? { endpoint: env.SQS_ENDPOINT } : {}),
  });
  const deps = { sqs, dlqUrl: env.SQS_DLQ_URL, queueUrl: env.SQS_QUEUE_URL, progress };
  try {
    if (flags.command === "dlq list") {
      const { total, byCode, samples } = await listDlq(deps, { code: flags.code, limit: flags.limit });
      for (const s of samples) {
        progress(
          `${s.messageId}  ${s.code}  sent ${s.sentAt ?? "?"}  received ${s.receiveCount}x  ${s.detail}`,
        );
        progress(`  ${s.body}`);
      }
      return { total, byCode };
    }
    progress(
      `replaying${flags["dry-run"] ? " (dry run: nothing is sent or deleted)" : ""} ${flags.code ?? "every code"} to ${env.SQS_QUEUE_URL}`,
    );
    return await replayDlq(deps, { code: flags.code, max: flags.max, dryRun: flags["dry-run"] });
  } finally {
    sqs.destroy();
  }
}

runCli("ingest-worker", () => main(process.argv.slice(2)));
