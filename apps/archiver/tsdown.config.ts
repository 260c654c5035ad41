import { defineConfig } from "tsdown";

// Workspace packages are TypeScript source: bundle them; npm dependencies stay external.
export default defineConfig({
  entry: ["src/main.ts", "src/cli.ts"],
  format: "esm",
  platform: "node",
  target: "node24",
  outExtensions: () => ({ js: ".js" }),
  deps: { alwaysBundle: [/^@gsk\//] },
  dts: false,
  clean: true,
});
