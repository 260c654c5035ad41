import { defineConfig } from "vitest/config";

// Every workspace's own config (its unit and integration projects) from the root.
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*", "infra/*"],
  },
});
