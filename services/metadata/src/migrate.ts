import path from 'node:path';
import type { Logger } from '@ocireg/logger';
import { runMigrations } from '@ocireg/postgres';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../migrations');

export function migrate(databaseUrl: string, logger: Logger): Promise<void> {
  return runMigrations({ databaseUrl, dir: MIGRATIONS_DIR, table: 'pgmigrations', logger });
}
