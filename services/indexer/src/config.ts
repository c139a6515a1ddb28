import { env, grpcServiceSettings, loadConfig, z } from '@ocireg/config';

export const configSchema = z.object({
  ...grpcServiceSettings({ grpcPort: 50054, metricsPort: 9104 }),
  DATABASE_URL: env.url(),
  /** Run migrations at start-up (the Helm chart runs them as a hook instead). */
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** Kafka brokers; without them, events come from the PostgreSQL event log at DATABASE_URL (embedded mode). */
  KAFKA_BROKERS: env.list().optional(),
  /** The consumer group (of Kafka or of the PostgreSQL event log). */
  KAFKA_GROUP_ID: z.string().min(1).default('ocireg-indexer'),
  /** Read only by the rebuild command (rebuild-cli.js, run in the indexer's pod), for metadata's snapshot; the indexer server never calls metadata. */
  METADATA_ADDR: env.address().optional(),
});

export type IndexerConfig = ReturnType<typeof loadIndexerConfig>;

export function loadIndexerConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(configSchema, source);
}
