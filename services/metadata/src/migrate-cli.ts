import path from 'node:path';
import { createLogger } from '@ocireg/logger';
import { runMigrationCli } from '@ocireg/postgres';

runMigrationCli({ service: 'metadata', dir: path.resolve(__dirname, '../migrations'), table: 'pgmigrations', logger: createLogger({ service: 'metadata-migrate', level: process.env.LOG_LEVEL ?? 'info' }) });
