import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Pool } from 'pg';
import { createLogger } from '@ocireg/logger';
import { onShutdown, runService, startGrpcServer } from '@ocireg/grpc';
import { createMetricsRegistry, Gauge, startMetricsServer } from '@ocireg/metrics';
import { runMigrations } from '@ocireg/postgres';
import { indexer, PROTO_DIR, PROTO_FILES } from '@ocireg/proto';
import { DEAD_LETTER_TOPIC, EVENTS_TOPIC, runEventConsumer } from './consumer';
import { loadIndexerConfig } from './config';
import { indexerHandlers } from './grpc-handlers';
import { Listings } from './listings';
import { ReadModel } from './read-model';


runService(async () => {
  const config = loadIndexerConfig();
  const logger = createLogger({ service: 'indexer', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('indexer');
  const lagSeconds = new Gauge({ name: 'indexer_event_lag_seconds', help: 'Age of the last applied event when it was applied', registers: [metrics] });

  if (config.MIGRATE_ON_START) await runMigrations({ databaseUrl: config.DATABASE_URL, dir: path.resolve(__dirname, '../migrations'), table: 'indexer_pgmigrations', logger });
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 5 });
  pool.on('error', (err) => logger.error({ err }, 'idle PostgreSQL client failed'));
  const model = new ReadModel(pool);

  const grpcServer = await startGrpcServer(
    { name: 'indexer', host: config.GRPC_HOST, port: config.GRPC_PORT, logger, metrics, protoFiles: [PROTO_FILES.indexer], protoIncludeDirs: [PROTO_DIR] },
    [{ definition: indexer.IndexerServiceService, implementation: indexerHandlers(new Listings(pool)) }],
  );
  const metricsServer = await startMetricsServer(metrics, config.METRICS_PORT);

  const kafka = new Kafka({ clientId: 'ocireg-indexer', brokers: [...config.KAFKA_BROKERS], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: config.KAFKA_GROUP_ID });
  const producer = kafka.producer();
  // Kafka may be down: connect in the background and keep retrying (kafkajs restarts the consumer on failures).
  void (async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        // The topics exist before anyone uses them (auto-creation races with the first send).
        const admin = kafka.admin();
        await admin.connect();
        await admin.createTopics({ topics: [{ topic: EVENTS_TOPIC }, { topic: DEAD_LETTER_TOPIC }], waitForLeaders: true }).finally(() => admin.disconnect());
        await producer.connect();
        await consumer.connect();
        await runEventConsumer({ consumer, producer, model, logger, lagSeconds });
        logger.info('consuming registry events');
        return;
      } catch (err) {
        logger.warn({ err, attempt }, 'Kafka not reachable yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5000)));
      }
    }
  })();

  onShutdown(logger, [
    { name: 'grpc', run: () => grpcServer.shutdown() },
    { name: 'kafka consumer', run: () => consumer.disconnect() },
    { name: 'kafka producer', run: () => producer.disconnect() },
    { name: 'metrics', run: () => new Promise((resolve) => metricsServer.server.close(resolve)) },
    { name: 'postgres', run: () => pool.end() },
  ]);
  logger.info({ grpcPort: grpcServer.port, metricsPort: metricsServer.port }, 'indexer ready');
});
