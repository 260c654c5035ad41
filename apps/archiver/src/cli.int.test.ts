// The built CLI (dist/cli.js), configured by the environment like the app.
import { fileURLToPath } from "node:url";
import { spawnNode, test } from "@gsk/testing";
import { describe, expect } from "vitest";
import { archiverEnv, meta, resetArchive, startArchiver } from "./test-support.ts";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));

async function cli(args: string[], env: Record<string, string>) {
  const run = spawnNode(CLI, args, env);
  const code = await run.exit();
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

const lastLine = (s: string) => JSON.parse(s.trim().split("\n").at(-1) ?? "null");

describe("archiver CLI", () => {
  test("run-now waits for the run; status lists it; restore brings entries back with a JSON summary", async ({
    redis,
    mongo,
  }) => {
    await resetArchive(mongo);
    const env = archiverEnv([redis.url], mongo);
    const { entries } = await startArchiver(env, mongo);
    for (let i = 0; i < 30; i++)
      await entries.write({ meta: meta({ webhookKey: `cli${i}` }), dataJson: String(i) });

    const run = await cli(["run-now"], env);
    expect(run.code, run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toMatchObject({ scanned: 30, inserted: 30, failed: 0, policies: 0 });
    expect(run.stderr).toContain("queued run manual-");

    const status = await cli(["status", "--limit", "5"], env);
    expect(status.code).toBe(0);
    expect(lastLine(status.stdout).runs[0]).toMatchObject({
      trigger: "manual",
      status: "succeeded",
      inserted: 30,
    });

    await redis.cli("FLUSHALL");
    const dry = await cli(["restore", "--dry-run"], env);
    expect(dry.code).toBe(0);
    expect(lastLine(dry.stdout)).toEqual({
      restored: 30,
      skippedNewer: 0,
      skippedExpired: 0,
      skippedConflict: 0,
      policiesRestored: 0,
    });
    expect(await redis.cli("DBSIZE")).toBe("0");
    const real = await cli(["restore", "--account", "acme"], env);
    expect(real.code).toBe(0);
    expect(lastLine(real.stdout)).toEqual({
      restored: 30,
      skippedNewer: 0,
      skippedExpired: 0,
      skippedConflict: 0,
      policiesRestored: 0,
    });
    expect(Number(await redis.cli("DBSIZE"))).toBeGreaterThanOrEqual(30);
  });

  test("bad flags and configuration exit non-zero with a one-line reason", async ({ mongo }) => {
    const env = archiverEnv(["redis://127.0.0.1:1"], mongo);
    const flowOnly = await cli(["restore", "--flow", "f"], env);
    expect(flowOnly.code).toBe(2);
    expect(flowOnly.stderr.trim()).toBe("archiver: --flow: --flow needs --account");
    const unknown = await cli(["explode"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("the command must be run-now, restore, erase or status");
    const badFlag = await cli(["restore", "--acount", "x"], env);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("Unknown option '--acount'");
    const badEnv = await cli(["status"], { MONGO_URL: "http://x" });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain("MONGO_URL: must be a mongodb:// or mongodb+srv:// URL");
    expect(badEnv.stderr).toContain("REDIS_URL: is required");
    const badSchedule = await cli(["status"], {
      ...env,
      ARCHIVE_CRON: "0 25 * * *",
      ARCHIVE_RETENTION_DAYS: "100000",
    });
    expect(badSchedule.code).toBe(2);
    expect(badSchedule.stderr.trim().split("\n")).toHaveLength(1);
    expect(badSchedule.stderr).toContain("ARCHIVE_CRON: must be a valid cron pattern");
    expect(badSchedule.stderr).toContain("ARCHIVE_RETENTION_DAYS: must be at most 24855");
    expect(badSchedule.stderr).not.toContain("    at ");
  });
});
