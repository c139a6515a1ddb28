import type { BlobStore } from './blob-store';

/** What every backend may read besides its own variables. */
export interface CommonStorageEnv {
  /** filesystem, s3, azure or gcs. */
  readonly STORAGE_BACKEND?: string;
  /** Bytes per part, for the backends that upload in parts (each has its limits and 5 MiB by default). */
  readonly UPLOAD_PART_SIZE?: number | string;
}

/** A backend's variables as the environment (or a parsed config) holds them, from the keys of its zod shape. */
export type SettingsEnv<Settings extends () => object> = CommonStorageEnv & { readonly [Variable in keyof ReturnType<Settings>]?: string };

export interface StorageEnvProblem {
  variable: string;
  message: string;
}

/** What a config check knows beyond the variables: the largest blob, where the service has that limit (blob-upload). */
export interface StorageLimits {
  maxBlobSize?: number;
}

export interface CreateStoreOptions {
  /** Make a missing bucket or container (blob-upload does at start). */
  createBucket?: boolean;
}

/**
 * One storage backend, by name (STORAGE_BACKEND): what it needs of its
 * variables, and how to build its store. Its variables' zod shapes live
 * beside it (e.g. s3Settings) and join the services' schemas through
 * blobStoreSettings. Adding a backend: its store, a file like this one's
 * implementations, and a line in storage-backends.ts.
 */
export interface StorageBackend<Env extends CommonStorageEnv = CommonStorageEnv> {
  /** What is missing or wrong in its variables (and its part limits), naming each variable. */
  problems(env: Env, limits: StorageLimits): StorageEnvProblem[];
  create(env: Env, options: CreateStoreOptions): Promise<BlobStore>;
}

/** UPLOAD_PART_SIZE as a number, or undefined for the backend's default. */
export function partSizeOf(env: CommonStorageEnv): number | undefined {
  const value = env.UPLOAD_PART_SIZE;
  return value === undefined || value === '' ? undefined : Number(value);
}

/** Problems of the variables in `required` that are not set, for backend `name`. */
export function missing<Env>(env: Env, required: ReadonlyArray<keyof Env & string>, name: string): StorageEnvProblem[] {
  return required.filter((variable) => !env[variable]).map((variable) => ({ variable, message: `required when STORAGE_BACKEND is ${name}` }));
}
