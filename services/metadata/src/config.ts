import { env, grpcServiceSettings, loadConfig, z } from '@ocireg/config';

export const configSchema = z.object({
  ...grpcServiceSettings({ grpcPort: 50052, metricsPort: 9102 }),
  DATABASE_URL: env.url(),
  /** Changes of access are announced to gateways through Redis; without it, through PostgreSQL (embedded mode). */
  REDIS_URL: env.optionalUrl(),
  /** Where the outbox relay publishes registry events; without it, to the PostgreSQL event log at DATABASE_URL (embedded mode). */
  KAFKA_BROKERS: env.list().optional(),
  /** How often the relay looks for new outbox rows. */
  OUTBOX_POLL_MS: z.coerce.number().int().min(10).default(100),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(10),
  /** Run migrations at start-up (on by default; the Helm chart runs them as a hook instead). */
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
});

export type MetadataConfig = ReturnType<typeof loadMetadataConfig>;

export function loadMetadataConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(configSchema, source);
}
