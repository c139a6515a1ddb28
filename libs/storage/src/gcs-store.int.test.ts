import { randomBytes, randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { beforeAll, describe, expect, it } from 'vitest';
import { blobStoreContract } from './contract';
import { GCS_MAX_COMPOSE_SOURCES, GcsBlobStore, type GcsUploadState } from './gcs-store';

// Runs against the fake-gcs-server that the integration setup starts (GCS_* variables), with its key file
// (GOOGLE_APPLICATION_CREDENTIALS, which the SDK reads: it signs URLs).
function storeFromEnv(options: { partSize?: number } = {}): GcsBlobStore {
  const env = process.env;
  return new GcsBlobStore({ bucket: env.GCS_BUCKET!, endpoint: env.GCS_ENDPOINT!, projectId: env.GCS_PROJECT_ID, ...options });
}

beforeAll(async () => {
  await storeFromEnv().ensureBucket();
});

blobStoreContract('Google Cloud Storage (fake-gcs-server)', () => storeFromEnv(), { bufferedPulls: false, signedUrls: true });

describe('GcsBlobStore', () => {
  it('folds parts by composing 32 at a time, so an upload of any size keeps fewer than 32 in its state and seals in one call', async () => {
    const store = storeFromEnv({ partSize: 64 * 1024 });
    const data = randomBytes(100 * 64 * 1024 + 5); // 100 parts and a tail, in two appends
    let state = await store.createUpload(randomUUID());
    for (const piece of [data.subarray(0, 70 * 64 * 1024 + 3), data.subarray(70 * 64 * 1024 + 3)]) {
      const appended = await store.appendUpload(state, (async function* () { yield piece; })(), { maxSize: data.length });
      for (const key of appended.obsolete) await store.delete(key);
      state = appended.state;
      expect((state as GcsUploadState).parts.length).toBeLessThan(GCS_MAX_COMPOSE_SOURCES);
    }
    const sealed = await store.sealUpload(state);
    expect((await buffer(await store.read(sealed))).equals(data)).toBe(true);
    await store.delete(sealed);
  });
});
