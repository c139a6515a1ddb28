import { createHash, randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { MIN_PART_SIZE, type BlobStore } from './blob-store';

/** The contract every BlobStore backend passes; each backend's test calls this. */
export function blobStoreContract(name: string, makeStore: () => BlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    const key = (label: string) => `contract/${label}-${randomBytes(6).toString('hex')}`;

    it('puts, stats, reads whole and by range, and deletes', async () => {
      const store = makeStore();
      const k = key('small');
      await store.put(k, Buffer.from('hello, registry'));
      expect(await store.stat(k)).toEqual({ size: 15 });
      expect(await text(await store.read(k))).toBe('hello, registry');
      expect(await text(await store.read(k, { offset: 7, length: 8 }))).toBe('registry');
      expect(await text(await store.read(k, { offset: 7 }))).toBe('registry');
      await store.delete(k);
      expect(await store.stat(k)).toBeUndefined();
      await store.delete(k); // idempotent
    });

    it('assembles a multipart upload in part order', async () => {
      const store = makeStore();
      const k = key('multi');
      const first = randomBytes(MIN_PART_SIZE);
      const last = randomBytes(1234);
      const uploadId = await store.startMultipart(k);
      const parts = [await store.putPart(k, uploadId, 1, first), await store.putPart(k, uploadId, 2, last)];
      await store.completeMultipart(k, uploadId, parts);
      const stored = await buffer(await store.read(k));
      expect(stored.length).toBe(MIN_PART_SIZE + 1234);
      expect(createHash('sha256').update(stored).digest('hex')).toBe(createHash('sha256').update(first).update(last).digest('hex'));
      await store.delete(k);
    });

    it('aborts a multipart upload without leaving an object', async () => {
      const store = makeStore();
      const k = key('aborted');
      const uploadId = await store.startMultipart(k);
      await store.putPart(k, uploadId, 1, randomBytes(100));
      await store.abortMultipart(k, uploadId);
      expect(await store.stat(k)).toBeUndefined();
    });
  });
}
