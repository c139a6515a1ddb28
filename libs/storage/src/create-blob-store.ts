import type { BlobStore } from './blob-store';
import type { CreateStoreOptions, StorageEnvProblem, StorageLimits } from './storage-backend';
import { backendOf, chosenBackend, STORAGE_BACKEND_NAMES, type BlobStoreEnv } from './storage-backends';
import { FailureMappingBlobStore } from './storage-failures';

export type BlobStoreEnvProblem = StorageEnvProblem;

/** What is missing or wrong for the chosen backend; services add these to their config errors (with MAX_BLOB_SIZE where they have it). */
export function blobStoreEnvProblems(env: BlobStoreEnv, limits: StorageLimits = {}): BlobStoreEnvProblem[] {
  const chosen = chosenBackend(env);
  if (!chosen) {
    const message = env.STORAGE_BACKEND
      ? `expected one of ${STORAGE_BACKEND_NAMES.join(', ')}`
      : `blob storage needs STORAGE_BACKEND: ${STORAGE_BACKEND_NAMES.join(', ')} (filesystem keeps blobs under $DATA_DIR/blobs)`;
    return [{ variable: 'STORAGE_BACKEND', message }];
  }
  return backendOf(chosen.name).problems(env, limits);
}

export interface CreateBlobStoreOptions extends CreateStoreOptions {
  /** Told, once, when the backend was inferred from S3_ENDPOINT or DATA_DIR (deprecated) rather than named. */
  logger?: { warn(details: object, message: string): void };
}

/**
 * The store of the backend STORAGE_BACKEND names (filesystem, s3, azure,
 * gcs); without it, as before it existed (deprecated): S3 when S3_ENDPOINT is
 * set, else the filesystem under $DATA_DIR/blobs. Its failures reach callers
 * as UNAVAILABLE (see storageFailure).
 */
export async function createBlobStore(env: BlobStoreEnv, options: CreateBlobStoreOptions = {}): Promise<BlobStore> {
  const problems = blobStoreEnvProblems(env);
  if (problems.length > 0) throw new Error(`blob storage is not configured: ${problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}`);
  const { name, inferred } = chosenBackend(env)!;
  if (inferred) {
    const from = name === 's3' ? 'S3_ENDPOINT is set' : 'DATA_DIR is set and S3_ENDPOINT is not';
    options.logger?.warn({ storageBackend: name }, `STORAGE_BACKEND is not set: using ${name} because ${from} (deprecated; set STORAGE_BACKEND=${name})`);
  }
  return new FailureMappingBlobStore(await backendOf(name).create(env, options));
}
