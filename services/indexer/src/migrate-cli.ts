import path from 'node:path';
import { createLogger } from '@ocireg/logger';
import { runMigrationCli } from '@ocireg/postgres';

runMigrationCli({ service: 'indexer', dir: path.resolve(__dirname, '../migrations'), table: 'indexer_pgmigrations', logger: createLogger({ service: 'indexer-migrate', level: process.env.LOG_LEVEL ?? 'info' }) });
