import { Pool } from 'pg';
import { afterAll } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { accessStateContract } from './contract';
import { POSTGRES_NAMES } from './names';
import { PostgresAccessStateReader, PostgresAccessStateWriter } from './postgres-access-state';

// Runs against the PostgreSQL that the integration setup starts (DATABASE_URL).
const url = process.env.DATABASE_URL!;
const logger = createLogger({ service: 'access-state-test', level: 'silent' });
const admin = new Pool({ connectionString: url, max: 1 });

afterAll(async () => {
  await admin.end();
});

accessStateContract('PostgreSQL', {
  writer: () => new PostgresAccessStateWriter(url, logger),
  reader: (options) => new PostgresAccessStateReader(url, logger, options),
  async killConnections(clientName) {
    const { rows } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [clientName]);
    return rows.length;
  },
  isStored: async (tokenId) => (await admin.query(`SELECT 1 FROM ${POSTGRES_NAMES.revokedTokens} WHERE token_id = $1`, [tokenId])).rowCount === 1,
});
