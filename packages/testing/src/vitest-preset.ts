import { defineConfig } from "vitest/config";

/**
 * A workspace's Vitest config: `unit` runs `*.test.ts` (no servers, default timeouts) and
 * `integration` runs `*.int.test.ts`, which start real servers and, under a parallel turbo run on
 * two cores, need headroom.
 */
export function workspaceVitest(name: string) {
  return defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: {
            name: `${name}:unit`,
            include: ["**/*.test.ts"],
            exclude: ["**/*.int.test.ts", "**/node_modules/**"],
          },
        },
        {
          extends: true,
          test: {
            name: `${name}:integration`,
            include: ["**/*.int.test.ts"],
            exclude: ["**/node_modules/**"],
            testTimeout: 30_000,
            hookTimeout: 30_000,
          },
        },
      ],
    },
  });
}
