import { randomBytes, randomUUID } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { beforeAll, describe, expect, it } from 'vitest';
import { blobStoreContract } from './contract';
import { S3BlobStore, type S3UploadState } from './s3-store';
import { parseUploadState } from './upload-state';

// Runs against the MinIO that the integration setup starts (S3_* variables).
function storeFromEnv(): S3BlobStore {
  const env = process.env;
  return new S3BlobStore({ endpoint: env.S3_ENDPOINT!, accessKey: env.S3_ACCESS_KEY!, secretKey: env.S3_SECRET_KEY!, bucket: env.S3_BUCKET!, region: env.S3_REGION ?? 'us-east-1' });
}

beforeAll(async () => {
  await storeFromEnv().ensureBucket(process.env.S3_REGION ?? 'us-east-1');
});

blobStoreContract('S3 (MinIO)', storeFromEnv, { bufferedPulls: true, signedUrls: true });

describe('S3BlobStore', () => {
  it('continues and seals an upload whose state was written before states had versions', async () => {
    const store = storeFromEnv();
    const first = randomBytes(5 * 1024 * 1024 + 7); // a part and a tail
    const { state } = await store.appendUpload(await store.createUpload(randomUUID()), (async function* () { yield first; })(), { maxSize: Number.MAX_SAFE_INTEGER });
    const { version, ...old } = state as S3UploadState;
    expect(version).toBe(1);
    const restored = parseUploadState(JSON.stringify(old))!;
    const second = randomBytes(1000);
    const { state: after } = await store.appendUpload(restored, (async function* () { yield second; })(), { maxSize: Number.MAX_SAFE_INTEGER });
    expect(after).toMatchObject({ backend: 's3', version: 1, size: first.length + second.length });
    const sealed = await store.sealUpload(after);
    expect((await buffer(await store.read(sealed))).equals(Buffer.concat([first, second]))).toBe(true);
    await store.delete(sealed);
  });
});
