export {
  createRedis,
  type Redis,
  type RedisConfig,
  type RedisHandle,
  RedisTimeoutError,
  redisConfig,
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
