export { createRedis, type Redis, type RedisConfig, type RedisHandle } from "./client.ts";
export {
  type ArchivableRecord,
  createEntryStore,
  type EntryStore,
  type EntryWrite,
  isNewerVersion,
  type StoredRecord,
} from "./entries.ts";
