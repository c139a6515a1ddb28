import { createLogger } from '@ocireg/logger';
import { runMigrationCli } from '@ocireg/postgres';
import { migrate } from './migrate';

const logger = createLogger({ service: 'auth-migrate', level: process.env.LOG_LEVEL ?? 'info' });
runMigrationCli({ service: 'auth', migrate: (databaseUrl) => migrate(databaseUrl, logger) });
