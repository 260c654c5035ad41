// pnpm bench <ingest|get|archive> [flags]: runs one benchmark (each prints ratios against a
// baseline measured in the same run). See each app's bench/ folder.
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const BENCHES: Record<string, string> = {
  ingest: "apps/ingest-worker/bench/ingest.ts",
  get: "apps/get-api/bench/get.ts",
  archive: "apps/archiver/bench/archive.ts",
};
const [name, ...args] = process.argv.slice(2);
const file = name ? BENCHES[name] : undefined;
if (!file) {
  console.error(`usage: pnpm bench <${Object.keys(BENCHES).join("|")}> [flags]`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ["--no-warnings", join(ROOT, file), ...args], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
