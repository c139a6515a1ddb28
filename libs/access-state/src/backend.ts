import { ConfigError } from '@ocireg/config';
import type { Logger } from '@ocireg/logger';
import type { AccessStateReader, AccessStateWriter, ReaderOptions } from './access-state';
import { PostgresAccessStateReader, PostgresAccessStateWriter } from './postgres-access-state';
import { RedisAccessStateReader, RedisAccessStateWriter } from './redis-access-state';

export type AccessStateBackend = { kind: 'redis'; url: string } | { kind: 'postgres'; url: string };

/** Redis when REDIS_URL is set (production, unchanged); otherwise PostgreSQL at DATABASE_URL (embedded mode). */
export function accessStateBackend(env: { readonly REDIS_URL?: string; readonly DATABASE_URL?: string }): AccessStateBackend {
  if (env.REDIS_URL) return { kind: 'redis', url: env.REDIS_URL };
  if (env.DATABASE_URL) return { kind: 'postgres', url: env.DATABASE_URL };
  throw new ConfigError([`REDIS_URL, DATABASE_URL: ${NEITHER_SET} (neither set)`]);
}

/** For config schemas that refine on the same rule. */
export const NEITHER_SET = 'one of REDIS_URL (Redis pub/sub) or DATABASE_URL (PostgreSQL LISTEN/NOTIFY, embedded mode) is required for token revocations and access changes';

export function createAccessStateWriter(backend: AccessStateBackend, logger: Logger): AccessStateWriter {
  return backend.kind === 'redis' ? new RedisAccessStateWriter(backend.url, logger) : new PostgresAccessStateWriter(backend.url, logger);
}

export function createAccessStateReader(backend: AccessStateBackend, logger: Logger, options?: ReaderOptions): AccessStateReader {
  return backend.kind === 'redis' ? new RedisAccessStateReader(backend.url, logger, options) : new PostgresAccessStateReader(backend.url, logger, options);
}
