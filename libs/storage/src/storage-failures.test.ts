import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RegistryError } from '@ocireg/errors';
import { describe, expect, it } from 'vitest';
import { ObjectNotFoundError } from './blob-store';
import { FsBlobStore } from './fs-store';
import { S3BlobStore } from './s3-store';
import { FailureMappingBlobStore, storageFailure } from './storage-failures';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('storage failures reach clients as UNAVAILABLE, never as 500', () => {
  it('an S3 endpoint that refuses connections: 503 blob storage is unavailable, with the cause kept for logs', async () => {
    const store = new FailureMappingBlobStore(
      new S3BlobStore({ endpoint: `http://127.0.0.1:${await closedPort()}`, accessKey: 'key', secretKey: 'secret-key', bucket: 'blobs', region: 'us-east-1' }),
    );
    const failure = await store.stat('blobs/x').catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(RegistryError);
    expect(failure).toMatchObject({ code: 'UNAVAILABLE', httpStatus: 503, message: 'blob storage is unavailable' });
    expect(((failure as Error).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('a filesystem store whose root cannot hold files: 503, not a crash', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'ocireg-failures-')), 'not-a-directory');
    writeFileSync(file, 'x');
    const store = new FailureMappingBlobStore(new FsBlobStore(file));
    await expect(store.createUpload('u1')).rejects.toMatchObject({ code: 'UNAVAILABLE', httpStatus: 503 });
    await expect(store.put('small', Buffer.from('x'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('a full disk or bucket says so', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'XMinioStorageFull']) {
      expect(storageFailure(Object.assign(new Error('no space'), { code }))).toMatchObject({ code: 'UNAVAILABLE', message: 'blob storage is full' });
    }
  });

  it('passes through what already says what happened, and caller bugs', async () => {
    const store = new FailureMappingBlobStore(new FsBlobStore(mkdtempSync(path.join(tmpdir(), 'ocireg-failures-'))));
    await expect(store.read('blobs/missing')).rejects.toBeInstanceOf(ObjectNotFoundError);
    const range = new RangeError('bad range');
    expect(storageFailure(range)).toBe(range);
    const sizeLimit = new RegistryError('SIZE_INVALID', 'too big', undefined, 413);
    expect(storageFailure(sizeLimit)).toBe(sizeLimit);
  });
});
