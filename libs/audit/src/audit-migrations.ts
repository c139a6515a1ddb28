import path from 'node:path';
import type { Logger } from '@ocireg/logger';
import { runMigrations } from '@ocireg/postgres';

export const AUDIT_MIGRATIONS_DIR = path.resolve(__dirname, '../migrations');

/**
 * Creates or updates the audit log's tables. Every service that writes the
 * log (metadata, auth, webhooks) runs this with its own migrations, in the
 * same database; its own history table keeps it apart from theirs.
 */
export function migrateAuditLog(databaseUrl: string, logger: Logger): Promise<void> {
  return runMigrations({ databaseUrl, dir: AUDIT_MIGRATIONS_DIR, table: 'audit_pgmigrations', logger });
}
