import { env, loadConfig, z } from '@ocireg/config';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const configSchema = z.object({
  GRPC_HOST: env.host('0.0.0.0'),
  GRPC_PORT: env.port(50053),
  METRICS_PORT: env.port(9103),
  LOG_LEVEL: env.logLevel(),
  REDIS_URL: env.url(),
  S3_ENDPOINT: env.url(),
  S3_ACCESS_KEY: z.string().min(1),
  S3_SECRET_KEY: z.string().min(1),
  S3_BUCKET: z.string().min(3),
  S3_REGION: z.string().default('us-east-1'),
  /** Bytes per S3 part; 8 MiB keeps a 32 GiB layer within 10,000 parts with room to spare. */
  UPLOAD_PART_SIZE: env.bytes(8 * MiB),
  /** Largest blob (layer) accepted. */
  MAX_BLOB_SIZE: env.bytes(32 * GiB),
  /** Time an upload session may take from its start. */
  UPLOAD_TIME_LIMIT_SECONDS: env.seconds(7 * 60),
  /** How often expired sessions are looked for. */
  UPLOAD_SWEEP_INTERVAL_SECONDS: env.seconds(30),
});

export type BlobUploadConfig = ReturnType<typeof loadBlobUploadConfig>;

export function loadBlobUploadConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    configSchema.refine((c) => c.UPLOAD_PART_SIZE >= 5 * MiB, { message: 'must be at least 5 MiB (S3 minimum part size)', path: ['UPLOAD_PART_SIZE'] })
      .refine((c) => Math.ceil(c.MAX_BLOB_SIZE / c.UPLOAD_PART_SIZE) <= 10_000, { message: 'MAX_BLOB_SIZE / UPLOAD_PART_SIZE must fit in 10,000 S3 parts', path: ['UPLOAD_PART_SIZE'] }),
    source,
  );
}
