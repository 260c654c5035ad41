import { defineProject } from "vitest/config";

// Integration tests start real servers; under a parallel turbo run on 2 cores they need headroom.
export default defineProject({ test: { name: "@gsk/infra-aws", testTimeout: 30_000, hookTimeout: 30_000 } });
