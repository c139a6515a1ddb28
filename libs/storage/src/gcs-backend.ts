import { readFileSync } from 'node:fs';
import { env, z } from '@ocireg/config';
import { GcsBlobStore } from './gcs-store';
import { missing, partSizeOf, type CommonStorageEnv, type StorageBackend } from './storage-backend';

export const gcsSettings = () => ({
  GCS_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'expected a bucket name: lowercase letters, digits, dots, hyphens, underscores').optional(),
  /** A service account's JSON key file; unset: Application Default Credentials (GKE workload identity). */
  GCS_KEY_FILE: env.absolutePath().optional(),
  GCS_PROJECT_ID: z.string().min(1).optional(),
  /** Another JSON API endpoint than Google's (fake-gcs-server); its requests go unauthenticated. */
  GCS_ENDPOINT: env.optionalUrl(),
});

export interface GcsEnv extends CommonStorageEnv {
  readonly GCS_BUCKET?: string;
  readonly GCS_KEY_FILE?: string;
  readonly GCS_PROJECT_ID?: string;
  readonly GCS_ENDPOINT?: string;
}

/** Google Cloud Storage, through @google-cloud/storage. */
export const gcsBackend: StorageBackend<GcsEnv> = {
  problems(vars) {
    const problems = missing(vars, ['GCS_BUCKET'], 'gcs');
    if (vars.GCS_KEY_FILE) {
      const problem = keyFileProblem(vars.GCS_KEY_FILE);
      if (problem) problems.push({ variable: 'GCS_KEY_FILE', message: problem });
    }
    return problems;
  },
  async create(vars, { createBucket }) {
    const credentials = vars.GCS_KEY_FILE ? readKeyFile(vars.GCS_KEY_FILE) : undefined;
    const store = new GcsBlobStore({ bucket: vars.GCS_BUCKET!, endpoint: vars.GCS_ENDPOINT, credentials, projectId: vars.GCS_PROJECT_ID ?? credentials?.project_id, partSize: partSizeOf(vars) });
    if (createBucket) await store.ensureBucket();
    return store;
  },
};

interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  project_id?: string;
}

function readKeyFile(file: string): ServiceAccountKey {
  const key = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServiceAccountKey>;
  if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') throw new Error('not a service account key: it needs client_email and private_key');
  return key as ServiceAccountKey;
}

function keyFileProblem(file: string): string | undefined {
  try {
    readKeyFile(file);
    return undefined;
  } catch (err) {
    return `cannot use ${file} as a service account key: ${(err as Error).message}`;
  }
}
