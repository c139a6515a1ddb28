import { ConfigError } from '@ocireg/config';
import type { Logger } from '@ocireg/logger';
import { createKafkaTransport } from './kafka-transport';
import { createPostgresTransport } from './postgres-transport';
import type { EventTransport } from './types';

export type { BatchHandler, EventConsumer, EventPublisher, EventTransport, IncomingMessage, MessageHandler, OutgoingMessage } from './types';
export * from './registry-events';
export { consumeInBackground } from './background-consumer';
export { createKafkaTransport, type KafkaTransportOptions } from './kafka-transport';
export { createPostgresTransport, type PostgresTransportOptions } from './postgres-transport';

/** Kafka when KAFKA_BROKERS is set (production), else the PostgreSQL event log at DATABASE_URL (embedded mode). */
export function createEventTransport(env: { KAFKA_BROKERS?: string; DATABASE_URL?: string }, logger: Logger): EventTransport {
  const brokers = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  if (brokers.length > 0) return createKafkaTransport({ brokers, logger });
  if (env.DATABASE_URL) return createPostgresTransport({ databaseUrl: env.DATABASE_URL, logger });
  throw new ConfigError(['events: set KAFKA_BROKERS (Kafka) or DATABASE_URL (PostgreSQL event log, embedded mode)']);
}
