import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { APPS, isApp } from "./apps.ts";

// Allocates short-lived garbage for a while and prints the largest size the young generation's
// space reached, in MiB.
const PROBE = `
const v8 = require("node:v8");
let keep = [], max = 0;
for (let i = 0; i < 2e6; i++) {
  keep.push({ i, s: "x" + i });
  if (keep.length > 20000) keep = [];
  if (i % 10000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size);
}
console.log(max / 1048576);
`;

describe.each(Object.keys(APPS))("%s's Node flags", (app) => {
  if (!isApp(app)) throw new Error(app);
  const flags = APPS[app].NODE_OPTIONS;

  it("are accepted in NODE_OPTIONS and bound the young generation", () => {
    const semiSpace = Number(/--max-semi-space-size=(\d+)/.exec(flags)?.[1]);
    expect(semiSpace).toBeGreaterThan(0);
    // A flag Node refuses in NODE_OPTIONS would stop the pod at start: here it fails the test.
    const newSpaceMiB = Number(
      execFileSync(process.execPath, ["-e", PROBE], {
        env: { PATH: process.env.PATH, NODE_OPTIONS: flags },
        encoding: "utf8",
      }),
    );
    expect(newSpaceMiB).toBeGreaterThan(0);
    expect(newSpaceMiB).toBeLessThanOrEqual(2 * semiSpace);
  });
});
