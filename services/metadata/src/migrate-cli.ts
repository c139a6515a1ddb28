import { createLogger } from '@ocireg/logger';
import { runMigrationCli } from '@ocireg/postgres';
import { migrate } from './migrate';

const logger = createLogger({ service: 'metadata-migrate', level: process.env.LOG_LEVEL ?? 'info' });
runMigrationCli({ service: 'metadata', migrate: (databaseUrl) => migrate(databaseUrl, logger) });
