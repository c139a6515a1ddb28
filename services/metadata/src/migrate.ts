import path from 'node:path';
import { runner } from 'node-pg-migrate';
import type { Logger } from '@ocireg/logger';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../migrations');

/** Applies pending migrations; node-pg-migrate holds an advisory lock, so replicas may race safely. */
export async function migrate(databaseUrl: string, logger: Logger): Promise<void> {
  // Replicas starting together race for the lock; the losers wait for the winner.
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(databaseUrl, logger);
    } catch (err) {
      if (!(err instanceof Error) || !/Another migration is already running/.test(err.message) || attempt >= 120) throw err;
      logger.info({ attempt }, 'another process is migrating; waiting');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function migrateOnce(databaseUrl: string, logger: Logger): Promise<void> {
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
