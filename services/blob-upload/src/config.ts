import { env, grpcServiceSettings, loadConfig, z } from '@ocireg/config';
import { blobStoreEnvProblems, blobStoreSettings } from '@ocireg/storage';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const configSchema = z.object({
  ...grpcServiceSettings({ grpcPort: 50053, metricsPort: 9103 }),
  /** Upload sessions live in Redis when set, else as JSON files under $DATA_DIR/upload-sessions (empty counts as unset, as for the other services). */
  REDIS_URL: env.optionalUrl(),
  /**
   * Where blobs go (STORAGE_BACKEND and its variables; UPLOAD_PART_SIZE, checked
   * against the backend's part limits with MAX_BLOB_SIZE). DATA_DIR also holds
   * upload sessions when REDIS_URL is not set.
   */
  ...blobStoreSettings(),
  /** Largest blob (layer) accepted. */
  MAX_BLOB_SIZE: env.bytes(32 * GiB),
  /** Time an upload session may take from its start. */
  UPLOAD_TIME_LIMIT_SECONDS: env.seconds(7 * 60),
  /**
   * How long a session's write lease runs unless its writer renews it (the
   * gateway does, every third of it, while it streams): how soon an upload
   * whose writer died can be resumed.
   */
  UPLOAD_LEASE_SECONDS: env.seconds(5).refine((seconds) => seconds >= 1, 'must be at least 1 second (writers renew the lease every third of it)'),
  /** Upload sessions one user may have open at once (each is a multipart upload in storage until it ends). */
  MAX_UPLOAD_SESSIONS_PER_USER: z.coerce.number().int().positive().default(100),
  /** How often expired sessions are looked for. */
  UPLOAD_SWEEP_INTERVAL_SECONDS: env.seconds(30),
});

export type BlobUploadConfig = ReturnType<typeof loadBlobUploadConfig>;

export function loadBlobUploadConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    configSchema
      .refine((c) => c.REDIS_URL || c.DATA_DIR, {
        message: 'upload sessions need REDIS_URL (Redis) or DATA_DIR (JSON files under $DATA_DIR/upload-sessions)',
        path: ['REDIS_URL'],
      })
      .superRefine((c, ctx) => {
        for (const { variable, message } of blobStoreEnvProblems(c, { maxBlobSize: c.MAX_BLOB_SIZE })) ctx.addIssue({ code: 'custom', path: [variable], message });
      }),
    source,
  );
}
