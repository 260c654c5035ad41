import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "@gsk/ingest-worker", testTimeout: 30_000 } });
