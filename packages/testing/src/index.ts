export type { FileFixtures, TestFixtures, WorkerFixtures } from "./fixtures.ts";
export { test } from "./fixtures.ts";
export * from "./servers.ts";
