import { defineConfig } from "tsdown";

/**
 * The bundle of an app: workspace packages (TypeScript source) inlined, npm dependencies
 * external, ESM for Node 24, `dist/<entry>.js`.
 */
export function appBundle(entry: string[]) {
  return defineConfig({
    entry,
    format: "esm",
    platform: "node",
    target: "node24",
    outExtensions: () => ({ js: ".js" }),
    deps: { alwaysBundle: [/^@gsk\//] },
    dts: false,
    clean: true,
  });
}
