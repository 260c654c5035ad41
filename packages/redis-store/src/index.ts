export {
  createRedis,
  type Redis,
  type RedisConfig,
  type RedisEndpoint,
  type RedisHandle,
  RedisTimeoutError,
  redisConfig,
  redisEndpoint,
} from "./client.ts";
export {
  type ArchivableRecord,
  createEntryStore,
  type EntryMeta,
  type EntryStore,
  type EntryWrite,
  isNewerVersion,
  type MessageWrite,
  type StoredRecord,
  type WriteResult,
} from "./entries.ts";
