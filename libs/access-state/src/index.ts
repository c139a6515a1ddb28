/**
 * Token revocations and access epochs, shared by auth and metadata (writers)
 * and every gateway (readers). With PostgreSQL, all of them must use the same
 * database (one DATABASE_URL, as the chart and the quick start give them).
 */
export type { AccessSnapshot, AccessStateListener, AccessStateReader, AccessStateWriter, ReaderOptions } from './access-state';
export { accessStateBackend, createAccessStateReader, createAccessStateWriter, NEITHER_SET, type AccessStateBackend } from './backend';
export { accessMessage, contentWorkspace, parseAccessMessage, POSTGRES_NAMES, REDIS_NAMES, type AccessSubject } from './names';
export { PostgresAccessStateReader, PostgresAccessStateWriter } from './postgres-access-state';
export { RedisAccessStateReader, RedisAccessStateWriter } from './redis-access-state';
