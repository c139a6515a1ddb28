import { NEITHER_SET } from '@ocireg/access-state';
import { env, loadConfig, z } from '@ocireg/config';
import { blobStoreEnvProblems } from '@ocireg/storage';

export const configSchema = z.object({
  HTTP_HOST: env.host('0.0.0.0'),
  HTTP_PORT: env.port(5000),
  METRICS_PORT: env.port(9100),
  LOG_LEVEL: env.logLevel(),
  AUTH_ADDR: env.address(),
  METADATA_ADDR: env.address(),
  BLOB_UPLOAD_ADDR: env.address(),
  INDEXER_ADDR: env.address(),
  /** Blobs are read from S3/MinIO when S3_ENDPOINT is set, else from the filesystem under $DATA_DIR/blobs. */
  S3_ENDPOINT: env.url().optional(),
  S3_ACCESS_KEY: z.string().min(1).optional(),
  S3_SECRET_KEY: z.string().min(1).optional(),
  S3_BUCKET: z.string().min(3).optional(),
  S3_REGION: z.string().default('us-east-1'),
  DATA_DIR: env.absolutePath().optional(),
  /** Revocations of API tokens and access changes arrive through Redis when set... */
  REDIS_URL: env.optionalUrl(),
  /** ...else through PostgreSQL LISTEN/NOTIFY (embedded mode); one of the two is required. */
  DATABASE_URL: env.optionalUrl(),
  /** Public base URL (e.g. https://registry.example.com) for the token realm; derived from each request's Host when unset. */
  PUBLIC_URL: env.url().optional(),
  /** The `service` of token challenges. */
  TOKEN_SERVICE: z.string().min(1).default('ocireg'),
  /** Same limit as blob-upload's; the gateway uses it as the deadline of a streaming call. */
  UPLOAD_TIME_LIMIT_SECONDS: env.seconds(7 * 60),
  /** Largest manifest accepted (the spec suggests registries accept at least 4 MiB). */
  MAX_MANIFEST_SIZE: env.bytes(4 * 1024 * 1024),
});

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    configSchema.superRefine((c, ctx) => {
      for (const { variable, message } of blobStoreEnvProblems(c)) ctx.addIssue({ code: 'custom', path: [variable], message });
      if (!c.REDIS_URL && !c.DATABASE_URL) ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: NEITHER_SET });
    }),
    source,
  );
}
