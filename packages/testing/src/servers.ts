export { launchBrowser } from "./browser.ts";
export {
  type MongoInstance,
  type MongoTestServer,
  openMongo,
  planStages,
  startMongoTestServer,
} from "./mongo/index.ts";
export { exited, freePort, reapOnExit, waitFor } from "./processes.ts";
export { startTcpProxy, type TcpProxy } from "./proxy.ts";
export {
  type RedisCluster,
  type RedisServer,
  type ReplicatedRedis,
  type SecureRedis,
  type SecureRedisOptions,
  startRedis,
  startRedisCluster,
  startRedisWithReplica,
  startReplicatedRedis,
  startSecureRedis,
} from "./redis.ts";
export * from "./sqs/index.ts";
export { cpuSeconds, median } from "./stats.ts";
export { isoFromNow } from "./time.ts";
export { makeTestCertificates, type TestCertificates } from "./tls.ts";
