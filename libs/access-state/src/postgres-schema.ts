import type { Pool } from 'pg';
import { inTransaction } from '@ocireg/postgres';
import { POSTGRES_NAMES } from './names';

const { revokedTokens, accessEpochs, schemaLockKey } = POSTGRES_NAMES;

const created = new WeakMap<Pool, Promise<void>>();

/**
 * Creates the library's two tables if missing. The library owns them (no
 * service migration), so any writer or reader may be first; the advisory lock
 * lets replicas starting together do it one at a time.
 */
export function ensureSchema(pool: Pool): Promise<void> {
  let done = created.get(pool);
  if (!done) {
    done = inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [schemaLockKey]);
      await client.query(`CREATE TABLE IF NOT EXISTS ${revokedTokens} (token_id text PRIMARY KEY, expires_at timestamptz NOT NULL)`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${revokedTokens}_expires_at ON ${revokedTokens} (expires_at)`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${accessEpochs} (subject text PRIMARY KEY, epoch_ms bigint NOT NULL)`);
    });
    // A failure (database not up yet) must not stick: the next call tries again.
    done.catch(() => created.delete(pool));
    created.set(pool, done);
  }
  return done;
}
