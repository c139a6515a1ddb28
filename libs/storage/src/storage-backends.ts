import { z } from '@ocireg/config';
import { azureBackend, azureSettings, type AzureEnv } from './azure-backend';
import { fsBackend, fsSettings, type FsEnv } from './fs-backend';
import { gcsBackend, gcsSettings, type GcsEnv } from './gcs-backend';
import { s3Backend, s3Settings, type S3Env } from './s3-backend';
import type { StorageBackend } from './storage-backend';

/** Every backend, by the name STORAGE_BACKEND gives it. */
export const STORAGE_BACKENDS = {
  filesystem: fsBackend,
  s3: s3Backend,
  azure: azureBackend,
  gcs: gcsBackend,
} satisfies Record<string, StorageBackend<never>>;

export type StorageBackendName = keyof typeof STORAGE_BACKENDS;
export const STORAGE_BACKEND_NAMES = Object.keys(STORAGE_BACKENDS) as [StorageBackendName, ...StorageBackendName[]];

/** The variables that choose and reach the blob storage (validated config, or process.env). */
export type BlobStoreEnv = FsEnv & S3Env & AzureEnv & GcsEnv;

const unsetWhenEmpty = (value: unknown) => (value === '' ? undefined : value);

/**
 * Where blobs live, for every service that reaches them: STORAGE_BACKEND and
 * each backend's variables (unset but for the chosen one's), for its zod schema.
 */
export const blobStoreSettings = () => ({
  STORAGE_BACKEND: z.preprocess(unsetWhenEmpty, z.enum(STORAGE_BACKEND_NAMES).optional()),
  /** Bytes per part, for the backends that upload in parts; each checks it against its limits (5 MiB by default). */
  UPLOAD_PART_SIZE: z.preprocess(unsetWhenEmpty, z.coerce.number().int().positive().optional()),
  ...fsSettings(),
  ...s3Settings(),
  ...azureSettings(),
  ...gcsSettings(),
});

/** The backend `env` names; `inferred` when STORAGE_BACKEND is unset and it was guessed the old way. */
export function chosenBackend(env: BlobStoreEnv): { name: StorageBackendName; inferred: boolean } | undefined {
  const named = env.STORAGE_BACKEND || undefined;
  if (named) return (STORAGE_BACKEND_NAMES as string[]).includes(named) ? { name: named as StorageBackendName, inferred: false } : undefined;
  // Deprecated: before STORAGE_BACKEND, S3_ENDPOINT chose S3 and DATA_DIR alone the filesystem.
  if (env.S3_ENDPOINT) return { name: 's3', inferred: true };
  if (env.DATA_DIR) return { name: 'filesystem', inferred: true };
  return undefined;
}

export function backendOf(name: StorageBackendName): StorageBackend<BlobStoreEnv> {
  return STORAGE_BACKENDS[name] as StorageBackend<BlobStoreEnv>;
}
