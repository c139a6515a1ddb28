import { readFileSync } from 'node:fs';
import { env, z } from '@ocireg/config';
import { GcsBlobStore } from './gcs-store';
import { missing, partSizeOf, type SettingsEnv, type StorageBackend } from './storage-backend';

export const gcsSettings = () => ({
  GCS_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'expected a bucket name: lowercase letters, digits, dots, hyphens, underscores').optional(),
  /**
   * A service account's JSON key file, Google's own variable: the SDK's
   * Application Default Credentials read it. Unset: the environment's
   * credentials (GKE workload identity).
   */
  GOOGLE_APPLICATION_CREDENTIALS: env.absolutePath().optional(),
  GCS_PROJECT_ID: z.string().min(1).optional(),
  /** Another JSON API endpoint than Google's (fake-gcs-server); its requests go unauthenticated. */
  GCS_ENDPOINT: env.optionalUrl(),
});

export type GcsEnv = SettingsEnv<typeof gcsSettings>;

/** Google Cloud Storage, through @google-cloud/storage. */
export const gcsBackend: StorageBackend<GcsEnv> = {
  problems(vars) {
    const problems = missing(vars, ['GCS_BUCKET'], 'gcs');
    const keyFile = vars.GOOGLE_APPLICATION_CREDENTIALS;
    const problem = keyFile ? keyFileProblem(keyFile) : undefined;
    if (problem) problems.push({ variable: 'GOOGLE_APPLICATION_CREDENTIALS', message: problem });
    return problems;
  },
  async create(vars, { createBucket }) {
    const key = vars.GOOGLE_APPLICATION_CREDENTIALS ? readKeyFile(vars.GOOGLE_APPLICATION_CREDENTIALS) : undefined;
    const store = new GcsBlobStore({ bucket: vars.GCS_BUCKET!, endpoint: vars.GCS_ENDPOINT, projectId: vars.GCS_PROJECT_ID ?? key?.project_id, partSize: partSizeOf(vars) });
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
