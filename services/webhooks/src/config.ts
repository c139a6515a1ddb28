import { env, grpcServiceSettings, loadConfig, z } from '@ocireg/config';

export const configSchema = z.object({
  ...grpcServiceSettings({ grpcPort: 50055, metricsPort: 9105 }),
  DATABASE_URL: env.url(),
  /** Run migrations at start-up (the Helm chart runs them as a hook instead). */
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** Kafka brokers; without them, events come from the PostgreSQL event log at DATABASE_URL (embedded mode). */
  KAFKA_BROKERS: env.list().optional(),
  /** The webhooks' own consumer group on the event stream (apart from the indexer's). */
  WEBHOOKS_GROUP_ID: z.string().min(1).default('ocireg-webhooks'),
  /** Metadata, asked whether a caller administers a workspace. */
  METADATA_ADDR: env.address(),
  /** First retry after this long; each next one waits twice as long (with jitter), until WEBHOOK_RETRY_FOR_SECONDS. */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).default(10_000),
  /** A delivery is given up this long after its event (24 hours). */
  WEBHOOK_RETRY_FOR_SECONDS: z.coerce.number().int().min(1).default(86_400),
  /** A hook is disabled after this many failed attempts in a row (its reason says so). */
  WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(1).default(50),
  /** Deliveries in flight to one hook at a time, and in all. */
  WEBHOOK_CONCURRENCY_PER_HOOK: z.coerce.number().int().min(1).max(100).default(4),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(64),
  /** An attempt that has no answer this long fails. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Targets in private, loopback or link-local ranges the operator allows (CIDRs, comma-separated); every other such target is refused. */
  WEBHOOK_ALLOWED_CIDRS: env.list().optional(),
  /** Follow redirects (each target checked again); off by default: a redirect is a failed attempt. */
  WEBHOOK_FOLLOW_REDIRECTS: z.enum(['true', 'false']).default('false').transform((value) => value === 'true'),
  /** Settled deliveries (the delivery log) are kept this many days; at least 8 (the event stream keeps 7). */
  WEBHOOK_LOG_DAYS: z.coerce.number().int().min(8).default(30),
  /**
   * Seals hooks' signing secrets at rest (docs/webhooks.md): 32 random bytes, base64 (`openssl rand -base64 32`).
   * Without it, creating a hook or rotating its secret is refused (FAILED_PRECONDITION naming this setting).
   */
  WEBHOOK_SECRETS_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  /** How often the worker looks for due deliveries. */
  WEBHOOK_POLL_MS: z.coerce.number().int().min(10).default(500),
});

export type WebhooksConfig = ReturnType<typeof loadWebhooksConfig>;

export function loadWebhooksConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(configSchema, source);
}
