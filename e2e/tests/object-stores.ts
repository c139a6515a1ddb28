import type { it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';

/**
 * Storage of its own for one test registry on the azure or gcs backend: a
 * new container of the Azurite, or bucket of the fake-gcs-server, that the
 * global setup started (blob-upload creates it at start), and what is in it,
 * read with the vendor's SDK. The storage modes of the data-plane, resume
 * and garbage-collection tests use these beside MinIO and the filesystem.
 */
export interface ObjectStore {
  /** The registry's variables: STORAGE_BACKEND and the backend's, naming the new container or bucket. */
  env: Record<string, string>;
  /** Every object stored, and ("uncommitted <key>") blobs with staged blocks only. */
  contents(prefix?: string): Promise<string[]>;
  /** Whether the object at a storage key exists. */
  holds(key: string): Promise<boolean>;
}

const from = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the e2e tests through the integration project (vitest --project integration)`);
  return value;
};

export function azureStore(label: string): ObjectStore {
  const container = `${label}-${randomBytes(5).toString('hex')}`;
  const [endpoint, account, key] = [from('AZURE_STORAGE_ENDPOINT'), from('AZURE_STORAGE_ACCOUNT'), from('AZURE_STORAGE_KEY')];
  const client = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key)).getContainerClient(container);
  return {
    env: { STORAGE_BACKEND: 'azure', AZURE_STORAGE_ENDPOINT: endpoint, AZURE_STORAGE_ACCOUNT: account, AZURE_STORAGE_KEY: key, AZURE_STORAGE_CONTAINER: container },
    async contents(prefix = '') {
      const found: string[] = [];
      const committed = new Set<string>();
      for await (const item of client.listBlobsFlat({ prefix })) committed.add(item.name);
      for await (const item of client.listBlobsFlat({ prefix, includeUncommitedBlobs: true })) found.push(committed.has(item.name) ? item.name : `uncommitted ${item.name}`);
      return found.sort();
    },
    holds: (name) => client.getBlobClient(name).exists(),
  };
}

export function gcsStore(label: string): ObjectStore {
  const bucket = `${label}-${randomBytes(5).toString('hex')}`;
  const [endpoint, keyFile] = [from('GCS_ENDPOINT'), from('GOOGLE_APPLICATION_CREDENTIALS')];
  const storage = new Storage({ apiEndpoint: endpoint, projectId: process.env.GCS_PROJECT_ID }); // unauthenticated, as the emulator takes it
  return {
    env: { STORAGE_BACKEND: 'gcs', GCS_ENDPOINT: endpoint, GOOGLE_APPLICATION_CREDENTIALS: keyFile, GCS_PROJECT_ID: process.env.GCS_PROJECT_ID ?? '', GCS_BUCKET: bucket },
    async contents(prefix = '') {
      const [files] = await storage.bucket(bucket).getFiles({ prefix });
      return files.map((file) => file.name).sort();
    },
    holds: async (name) => (await storage.bucket(bucket).file(name).exists())[0],
  };
}

/**
 * A case the backend-independent parts of a suite need not repeat on every
 * storage mode: on such a mode it is not part of the suite at all (neither run
 * nor listed as skipped), e.g. `(everyCase ? it : notInThisMode)(...)`.
 */
export const notInThisMode = (() => undefined) as unknown as typeof it;
