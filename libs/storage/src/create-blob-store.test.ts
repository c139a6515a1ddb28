import { describe, expect, it } from 'vitest';
import { blobStoreEnvProblems, createBlobStore } from './create-blob-store';
import { FsBlobStore } from './fs-store';
import { S3BlobStore } from './s3-store';
import { FailureMappingBlobStore } from './storage-failures';

const backendOf = (store: unknown) => (store as FailureMappingBlobStore).store;

const s3 = { S3_ENDPOINT: 'http://127.0.0.1:9000', S3_ACCESS_KEY: 'key', S3_SECRET_KEY: 'secret', S3_BUCKET: 'blobs' };

describe('createBlobStore', () => {
  it('uses the filesystem under $DATA_DIR/blobs when S3_ENDPOINT is not set', async () => {
    const store = await createBlobStore({ DATA_DIR: '/var/lib/ocireg' });
    expect(store).toBeInstanceOf(FailureMappingBlobStore);
    expect(backendOf(store)).toBeInstanceOf(FsBlobStore);
    expect((backendOf(store) as FsBlobStore).root).toBe('/var/lib/ocireg/blobs');
  });

  it('uses S3 when S3_ENDPOINT is set, even with DATA_DIR', async () => {
    expect(backendOf(await createBlobStore(s3))).toBeInstanceOf(S3BlobStore);
    expect(backendOf(await createBlobStore({ ...s3, DATA_DIR: '/var/lib/ocireg' }))).toBeInstanceOf(S3BlobStore);
  });

  it('names both options when neither is set', async () => {
    await expect(createBlobStore({})).rejects.toThrow(/S3_ENDPOINT.*DATA_DIR/);
    expect(blobStoreEnvProblems({}).map((p) => p.variable)).toEqual(['S3_ENDPOINT']);
  });

  it('names the S3 variables missing next to S3_ENDPOINT', async () => {
    expect(blobStoreEnvProblems({ S3_ENDPOINT: s3.S3_ENDPOINT, S3_BUCKET: 'blobs', DATA_DIR: '/data' })).toEqual([
      { variable: 'S3_ACCESS_KEY', message: 'required when S3_ENDPOINT is set' },
      { variable: 'S3_SECRET_KEY', message: 'required when S3_ENDPOINT is set' },
    ]);
    await expect(createBlobStore({ S3_ENDPOINT: s3.S3_ENDPOINT })).rejects.toThrow(/S3_ACCESS_KEY/);
  });
});
