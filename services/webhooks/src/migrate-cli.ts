import { createLogger } from '@ocireg/logger';
import { runMigrationCli } from '@ocireg/postgres';
import { migrate } from './migrate';

const logger = createLogger({ service: 'webhooks-migrate', level: process.env.LOG_LEVEL ?? 'info' });
runMigrationCli({ service: 'webhooks', migrate: (databaseUrl) => migrate(databaseUrl, logger) });
