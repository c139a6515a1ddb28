import { env, grpcServiceSettings, loadConfig, z } from '@ocireg/config';
import { blobStoreEnvProblems, blobStoreSettings } from '@ocireg/storage';

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
  /** Audit entries (every chain's: metadata, auth, webhooks) are kept this many days, then deleted (docs/audit.md). */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).default(400),

  // Garbage collection (docs/garbage-collection.md): it deletes blob bytes, so it reaches the blob storage.
  ...blobStoreSettings(),
  /** Collect at all (reviews still queue when off). */
  GC_ENABLED: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** How often a collection round runs. */
  GC_INTERVAL_SECONDS: env.seconds(30),
  // Grace periods in seconds; 0 collects as soon as nothing references a thing (tests, demos).
  /** A manifest left untagged (a tag moved or deleted) is collected this long after, unless its workspace keeps untagged manifests. */
  GC_UNTAGGED_GRACE_SECONDS: z.coerce.number().min(0).default(24 * 3600),
  /** A blob no manifest of its repository references is unlinked this long after (covers a push between its blob HEAD and manifest PUT). */
  GC_BLOB_GRACE_SECONDS: z.coerce.number().min(0).default(3600),
  /** Storage objects no metadata row names (crash leftovers) are removed this long after they were written; at least UPLOAD_TIME_LIMIT_SECONDS. */
  GC_ORPHAN_GRACE_SECONDS: z.coerce.number().min(0).default(24 * 3600),
  /** How often the orphan sweep lists the storage (one replica at a time). */
  GC_SWEEP_INTERVAL_SECONDS: env.seconds(6 * 3600),
  /** Reviews decided and blobs freed per round at most. */
  GC_BATCH: z.coerce.number().int().min(1).max(100_000).default(500),
  /** Deleted tags and images stay restorable this long before collection may free their bytes (docs/lifecycle-restore.md); 0: deletes are final. */
  RESTORE_WINDOW_SECONDS: z.coerce.number().int().min(0).default(7 * 24 * 3600),
  /** How often deletions past the restore window are purged. */
  RESTORE_PURGE_INTERVAL_SECONDS: env.seconds(60),
  // Retention rules (docs/lifecycle-retention.md): evaluated online, applied through the usual deletions.
  /** Run the online retention loop at all (previews and applies by hand work either way). */
  RETENTION_ENABLED: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** Every package with rules is evaluated again at least this often (time-based rules age tags out). */
  RETENTION_INTERVAL_SECONDS: env.seconds(3600),
  /** How often the loop looks for packages pushed to since their last evaluation (due after pushes). */
  RETENTION_DUE_POLL_SECONDS: env.seconds(30),
  /** Packages evaluated per round at most (bounded batches). */
  RETENTION_PACKAGES_PER_ROUND: z.coerce.number().int().min(1).max(10_000).default(50),
  /** Deletions per batch of an apply. */
  RETENTION_BATCH: z.coerce.number().int().min(1).max(10_000).default(100),
  /** Applying rules that delete more than this percentage of a package's tags needs an explicit confirm; the loop then skips the package. */
  RETENTION_CONFIRM_ABOVE_PERCENT: z.coerce.number().min(0).max(100).default(50),
  /** Seals upstream passwords at rest (docs/pull-through.md): 32 random bytes, base64 (`openssl rand -base64 32`). */
  UPSTREAM_CREDENTIALS_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .optional(),
  /** Replication (docs/replication.md): attempts of a job before it is `failed`. */
  REPLICATION_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(10),
  /** The first retry of a failed replication waits about this long, each further one twice as long (with jitter) up to REPLICATION_RETRY_MAX_SECONDS. */
  REPLICATION_RETRY_BASE_SECONDS: z.coerce.number().positive().max(86_400).default(30),
  REPLICATION_RETRY_MAX_SECONDS: z.coerce.number().positive().max(7 * 86_400).default(3600),
  /** No retry after this long since a job was queued (or retried by hand). */
  REPLICATION_RETRY_WINDOW_SECONDS: z.coerce.number().positive().max(30 * 86_400).default(86_400),
  /** A gateway's claim on a job lasts this long; one that dies mid-push loses the job then, and another gateway takes it. */
  REPLICATION_LEASE_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  /** The upload session limit (same value as blob-upload's): uploads older than it are abandoned. */
  UPLOAD_TIME_LIMIT_SECONDS: env.seconds(7 * 60),
});

export type MetadataConfig = ReturnType<typeof loadMetadataConfig>;

export function loadMetadataConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    configSchema.superRefine((c, ctx) => {
      for (const { variable, message } of blobStoreEnvProblems(c)) ctx.addIssue({ code: 'custom', path: [variable], message });
      if (c.GC_ORPHAN_GRACE_SECONDS < c.UPLOAD_TIME_LIMIT_SECONDS) {
        ctx.addIssue({ code: 'custom', path: ['GC_ORPHAN_GRACE_SECONDS'], message: 'must be at least UPLOAD_TIME_LIMIT_SECONDS: an upload still running is no orphan' });
      }
    }),
    source,
  );
}
