import path from 'node:path';
import { consumeInBackground, createEventTransport } from '@ocireg/events';
import { Pool } from 'pg';
import { createLogger } from '@ocireg/logger';
import { runService, serveGrpcService } from '@ocireg/grpc';
import { createMetricsRegistry } from '@ocireg/metrics';
import { runMigrations } from '@ocireg/postgres';
import { indexer, PROTO_DIR, PROTO_FILES } from '@ocireg/proto';
import { loadServiceTls } from '@ocireg/service-identity';
import { callersOf } from '@ocireg/topology';
import { EventIndexer } from './consumer';
import { loadIndexerConfig } from './config';
import { indexerHandlers } from './grpc-handlers';
import { Listings } from './listings';
import { ReadModel } from './read-model';

runService(async () => {
  const config = loadIndexerConfig();
  const logger = createLogger({ service: 'indexer', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('indexer');
  const tls = loadServiceTls(config.INTERNAL_TLS_DIR, 'indexer');

  if (config.MIGRATE_ON_START) await runMigrations({ databaseUrl: config.DATABASE_URL, dir: path.resolve(__dirname, '../migrations'), table: 'indexer_pgmigrations', logger });
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 5 });
  pool.on('error', (err) => logger.error({ err }, 'idle PostgreSQL client failed'));
  const model = new ReadModel(pool);
  const transport = createEventTransport({ KAFKA_BROKERS: config.KAFKA_BROKERS?.join(','), DATABASE_URL: config.DATABASE_URL }, logger);
  const consumer = transport.consumer(config.KAFKA_GROUP_ID);
  const deadLetters = transport.publisher('ocireg-indexer');
  const eventIndexer = new EventIndexer({ consumer, deadLetters, model, logger, metrics });

  const service = await serveGrpcService({
    name: 'indexer',
    doors: config,
    tls,
    logger,
    metrics,
    readyWhen: () => pool.query('SELECT 1'),
    protoFiles: [PROTO_FILES.indexer],
    protoIncludeDirs: [PROTO_DIR],
    services: [{ definition: indexer.IndexerServiceService, implementation: indexerHandlers(new Listings(pool), () => eventIndexer.status()), callers: callersOf('indexer', indexer.IndexerServiceService) }],
  });

  // The transport (Kafka when KAFKA_BROKERS is set, else the PostgreSQL event log) may be down: connect in the background and keep retrying.
  consumeInBackground({ topics: deadLetters, consumer, start: () => eventIndexer.start(), logger, readyMessage: 'consuming registry events' });

  service.ready([
    { name: 'event transport', run: () => transport.close() },
    { name: 'postgres', run: () => pool.end() },
  ]);
});
