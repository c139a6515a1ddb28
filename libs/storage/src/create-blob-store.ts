import path from 'node:path';
import type { BlobStore } from './blob-store';
import { FsBlobStore } from './fs-store';
import { S3BlobStore } from './s3-store';
import { FailureMappingBlobStore } from './storage-failures';

/** The variables that choose and reach the blob storage (validated config or process.env). */
export interface BlobStoreEnv {
  readonly S3_ENDPOINT?: string;
  readonly S3_ACCESS_KEY?: string;
  readonly S3_SECRET_KEY?: string;
  readonly S3_BUCKET?: string;
  readonly S3_REGION?: string;
  readonly DATA_DIR?: string;
  /** Bytes per S3 multipart part. */
  readonly UPLOAD_PART_SIZE?: number | string;
}

export interface BlobStoreEnvProblem {
  variable: keyof BlobStoreEnv;
  message: string;
}

const S3_CREDENTIALS = ['S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET'] as const;

/** What is missing for either backend; services add these to their config errors. */
export function blobStoreEnvProblems(env: BlobStoreEnv): BlobStoreEnvProblem[] {
  if (env.S3_ENDPOINT) {
    return S3_CREDENTIALS.filter((variable) => !env[variable]).map((variable) => ({ variable, message: 'required when S3_ENDPOINT is set' }));
  }
  if (env.DATA_DIR) return [];
  return [
    {
      variable: 'S3_ENDPOINT',
      message: 'blob storage needs S3_ENDPOINT (with S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET) for S3/MinIO, or DATA_DIR for the filesystem under $DATA_DIR/blobs',
    },
  ];
}

/**
 * S3/MinIO when S3_ENDPOINT is set (production), otherwise the filesystem under
 * $DATA_DIR/blobs (embedded mode). `createBucket` makes a missing S3 bucket.
 * Its failures reach callers as UNAVAILABLE (see storageFailure).
 */
export async function createBlobStore(env: BlobStoreEnv, options: { createBucket?: boolean } = {}): Promise<BlobStore> {
  const problems = blobStoreEnvProblems(env);
  if (problems.length > 0) throw new Error(`blob storage is not configured: ${problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}`);
  if (env.S3_ENDPOINT) {
    const region = env.S3_REGION ?? 'us-east-1';
    const partSize = env.UPLOAD_PART_SIZE === undefined ? undefined : Number(env.UPLOAD_PART_SIZE);
    const store = new S3BlobStore({ endpoint: env.S3_ENDPOINT, accessKey: env.S3_ACCESS_KEY!, secretKey: env.S3_SECRET_KEY!, bucket: env.S3_BUCKET!, region, partSize });
    if (options.createBucket) await store.ensureBucket(region);
    return new FailureMappingBlobStore(store);
  }
  return new FailureMappingBlobStore(new FsBlobStore(path.join(env.DATA_DIR!, 'blobs')));
}
