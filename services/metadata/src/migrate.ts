import path from 'node:path';
import { migrateAuditLog } from '@ocireg/audit';
import type { Logger } from '@ocireg/logger';
import { runMigrations } from '@ocireg/postgres';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../migrations');

/** Metadata's tables, and the audit log's it writes in the same transactions. */
export async function migrate(databaseUrl: string, logger: Logger): Promise<void> {
  await runMigrations({ databaseUrl, dir: MIGRATIONS_DIR, table: 'pgmigrations', logger });
  await migrateAuditLog(databaseUrl, logger);
}
