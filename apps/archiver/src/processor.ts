import { describeIssues } from "@gsk/schema";
import { inSpan, type Logger } from "@gsk/service";
import { type Job, UnrecoverableError } from "bullmq";
import * as v from "valibot";
import type { RunCounts } from "./collections.ts";
import { type JobData, JobDataSchema } from "./jobs.ts";
import type { ArchiveMetrics } from "./metrics.ts";
import { type ArchiveDeps, archiveRun, emptyState, type RunJob, type RunState } from "./run.ts";

/** A run's dependencies, plus what the job wrapper reports to. */
export interface ProcessorDeps extends ArchiveDeps {
  metrics: ArchiveMetrics;
  logger: Logger;
  /** How often progress is reported to BullMQ (default 2 s). */
  progressEveryMs?: number;
}

/** The BullMQ processor of an archive run: records it in `runs`, resumes from the job's state. */
export function createProcessor(deps: ProcessorDeps) {
  const { now } = deps;
  return async (job: Job<JobData>): Promise<RunCounts & { policies: number }> => {
    const parsed = v.safeParse(JobDataSchema, job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job data: ${describeIssues(parsed.issues)}`);
    const runId = job.id as string;
    const attempt = job.attemptsMade + 1;
    const state: RunState = structuredClone(parsed.output.state) ?? emptyState();
    const started = now();
    const log = deps.logger.child({ runId, attempt, trigger: parsed.output.trigger });
    log.info({ resumeFrom: state.cursors }, "archive run started");
    await deps.archive.runs.updateOne(
      { _id: runId },
      {
        $setOnInsert: { trigger: parsed.output.trigger, startedAt: new Date(started) },
        $set: { status: "running", attempts: attempt, finishedAt: null, durationMs: null, ...state.counts },
      },
      { upsert: true },
    );
    let lastProgress = 0;
    try {
      const run = (job: RunJob) =>
        inSpan(
          "archive run",
          () => ({
            attributes: { "gsk.run_id": runId, "gsk.trigger": parsed.output.trigger, "gsk.attempt": attempt },
          }),
          async (span) => {
            const counts = await archiveRun(deps, job);
            span.setAttributes({
              "gsk.scanned": counts.scanned,
              "gsk.inserted": counts.inserted,
              "gsk.failed": counts.failed,
            });
            return counts;
          },
        );
      const counts = await run({
        runId,
        state,
        checkpoint: async (s) => {
          await job.updateData({ ...parsed.output, state: s });
          if (now() - lastProgress >= (deps.progressEveryMs ?? 2000)) {
            lastProgress = now();
            await job.updateProgress({ ...s.counts });
            log.info(s.counts, "archive run progress");
          }
        },
      });
      const finished = now();
      const doc = await deps.archive.runs.findOne({ _id: runId });
      const durationMs = finished - (doc?.startedAt.getTime() ?? started);
      const { policies, ...runCounts } = counts;
      await deps.archive.runs.updateOne(
        { _id: runId },
        {
          $set: {
            status: "succeeded",
            finishedAt: new Date(finished),
            durationMs,
            attempts: attempt,
            ...runCounts,
          },
        },
      );
      deps.metrics.runs.inc({ status: "succeeded" });
      deps.metrics.duration.observe(durationMs / 1000);
      deps.metrics.lastSuccess.set(finished / 1000);
      for (const outcome of ["inserted", "unchanged", "failed", "vanished"] as const) {
        deps.metrics.keys.inc({ outcome }, runCounts[outcome]);
      }
      log.info({ ...counts, durationMs }, "archive run succeeded");
      return counts;
    } catch (error) {
      const message = (error as Error).message;
      log.error({ err: error, counts: state.counts }, "archive run attempt failed");
      if (attempt >= (job.opts.attempts ?? 1)) deps.metrics.runs.inc({ status: "failed" });
      await deps.archive.runs
        .updateOne(
          { _id: runId },
          { $set: { status: "failed", error: message, attempts: attempt, ...state.counts } },
        )
        .catch(() => log.warn("could not record the failure in runs (MongoDB down?)"));
      throw error;
    }
  };
}
