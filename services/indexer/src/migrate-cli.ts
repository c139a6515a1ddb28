import path from 'node:path';
import { createLogger } from '@ocireg/logger';
import { runMigrationCli, runMigrations } from '@ocireg/postgres';

const logger = createLogger({ service: 'indexer-migrate', level: process.env.LOG_LEVEL ?? 'info' });
runMigrationCli({ service: 'indexer', migrate: (databaseUrl) => runMigrations({ databaseUrl, dir: path.resolve(__dirname, '../migrations'), table: 'indexer_pgmigrations', logger }) });
