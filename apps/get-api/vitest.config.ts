import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "@gsk/get-api", testTimeout: 30_000 } });
