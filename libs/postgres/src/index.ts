import { runner } from 'node-pg-migrate';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '@ocireg/logger';

export interface MigrationOptions {
  databaseUrl: string;
  /** Folder of forward-only `.sql` migrations. */
  dir: string;
  /** Each service keeps its own history table, so their migrations never mix. */
  table: string;
  logger: Logger;
}

/**
 * Applies pending migrations. node-pg-migrate holds an advisory lock; replicas
 * starting together race for it, and the losers wait for the winner.
 */
export async function runMigrations(options: MigrationOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const applied = await runner({
        databaseUrl: options.databaseUrl,
        dir: options.dir,
        direction: 'up',
        migrationsTable: options.table,
        checkOrder: true,
        logger: { debug: () => undefined, info: (msg: string) => options.logger.debug(msg), warn: (msg: string) => options.logger.warn(msg), error: (msg: string) => options.logger.error(msg) },
      });
      options.logger.info({ applied: applied.map((m) => m.name), table: options.table }, 'migrations up to date');
      return;
    } catch (err) {
      if (!(err instanceof Error) || !/Another migration is already running/.test(err.message) || attempt >= 120) throw err;
      options.logger.info({ attempt }, 'another process is migrating; waiting');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export interface TransactionOptions {
  /** REPEATABLE READ: every query of the transaction sees one snapshot. */
  isolation?: 'read committed' | 'repeatable read';
  readOnly?: boolean;
}

/** Runs `work` in a transaction on one pooled client. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${options.isolation === 'repeatable read' ? 'REPEATABLE READ' : 'READ COMMITTED'}${options.readOnly ? ' READ ONLY' : ''}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw err;
  } finally {
    // A connection that cannot even roll back is broken: the pool drops it instead of reusing it.
    client.release(broken);
  }
}

/** A service's `migrate-cli`: applies its migrations (`migrate`, given DATABASE_URL) and exits (the Helm chart's pre-install/pre-upgrade hook). */
export function runMigrationCli(options: { service: string; migrate: (databaseUrl: string) => Promise<void> }): void {
  const databaseUrl = process.env.DATABASE_URL;
  const run = databaseUrl ? options.migrate(databaseUrl) : Promise.reject(new Error('DATABASE_URL: not set'));
  run.catch((err: unknown) => {
    console.error(`${options.service}: migration failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
