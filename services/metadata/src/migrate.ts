import path from 'node:path';
import { runner } from 'node-pg-migrate';
import type { Logger } from '@ocireg/logger';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../migrations');

/** Applies pending migrations; node-pg-migrate holds an advisory lock, so replicas may race safely. */
export async function migrate(databaseUrl: string, logger: Logger): Promise<void> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    logger: { debug: () => undefined, info: (msg: string) => logger.debug(msg), warn: (msg: string) => logger.warn(msg), error: (msg: string) => logger.error(msg) },
  });
  logger.info({ applied: applied.map((m) => m.name) }, 'migrations up to date');
}
