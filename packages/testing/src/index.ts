export type { FileFixtures, TestFixtures, WorkerFixtures } from "./fixtures.ts";
export { redisClient, spawnNode, test } from "./fixtures.ts";
export * from "./servers.ts";
