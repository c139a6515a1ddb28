import path from 'node:path';
import { createLogger } from '@ocireg/logger';
import { runMigrationCli } from '@ocireg/postgres';

runMigrationCli({ service: 'auth', dir: path.resolve(__dirname, '../migrations'), table: 'auth_pgmigrations', logger: createLogger({ service: 'auth-migrate', level: process.env.LOG_LEVEL ?? 'info' }) });
