import { createHash, randomBytes } from 'node:crypto';
import { buffer, text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { MIN_PART_SIZE, ObjectNotFoundError, type BlobStore } from './blob-store';

const sha256 = (...chunks: Buffer[]) => chunks.reduce((hash, chunk) => hash.update(chunk), createHash('sha256')).digest('hex');

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
      expect(sha256(stored)).toBe(sha256(first, last));
      await store.delete(k);
    });

    it('aborts a multipart upload without leaving an object', async () => {
      const store = makeStore();
      const k = key('aborted');
      const uploadId = await store.startMultipart(k);
      await store.putPart(k, uploadId, 1, randomBytes(100));
      await store.abortMultipart(k, uploadId);
      expect(await store.stat(k)).toBeUndefined();
      await expect(store.putPart(k, uploadId, 2, randomBytes(100))).rejects.toMatchObject({ code: 'NoSuchUpload' });
    });

    it('rejects reading a missing object with ObjectNotFoundError (BLOB_UNKNOWN), ranged or not', async () => {
      const store = makeStore();
      const k = key('missing');
      await expect(store.read(k)).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.read(k, { offset: 3, length: 2 })).rejects.toMatchObject({ code: 'BLOB_UNKNOWN', httpStatus: 404, key: k });
    });

    it('replaces an object on put', async () => {
      const store = makeStore();
      const k = key('overwrite');
      await store.put(k, Buffer.from('first version'));
      await store.put(k, Buffer.from('second'));
      expect(await store.stat(k)).toEqual({ size: 6 });
      expect(await text(await store.read(k))).toBe('second');
      await store.delete(k);
    });

    it('cuts a range at the end of the object and refuses one starting at or past it', async () => {
      const store = makeStore();
      const k = key('range');
      await store.put(k, Buffer.from('hello, registry'));
      expect(await text(await store.read(k, { offset: 7, length: 100 }))).toBe('registry');
      expect(await text(await store.read(k, { offset: 14, length: 1 }))).toBe('y');
      expect(await text(await store.read(k, { offset: 0 }))).toBe('hello, registry');
      await expect(store.read(k, { offset: 15 })).rejects.toMatchObject({ code: 'RANGE_INVALID', httpStatus: 416 });
      await expect(store.read(k, { offset: 20, length: 3 })).rejects.toMatchObject({ code: 'RANGE_INVALID' });
      await expect(store.read(k, { offset: -1 })).rejects.toBeInstanceOf(RangeError);
      await expect(store.read(k, { offset: 3, length: 0 })).rejects.toBeInstanceOf(RangeError);
      await store.delete(k);
    });

    it('stores and reads an empty object', async () => {
      const store = makeStore();
      const k = key('empty');
      await store.put(k, Buffer.alloc(0));
      expect(await store.stat(k)).toEqual({ size: 0 });
      expect((await buffer(await store.read(k))).length).toBe(0);
      expect((await buffer(await store.read(k, { offset: 0 }))).length).toBe(0);
      await store.delete(k);
    });

    it('keeps concurrent multipart uploads to different keys apart', async () => {
      const store = makeStore();
      const keys = [key('concurrent-a'), key('concurrent-b')];
      const contents = keys.map(() => [randomBytes(MIN_PART_SIZE), randomBytes(777)] as const);
      const uploadIds = await Promise.all(keys.map((k) => store.startMultipart(k)));
      expect(uploadIds[0]).not.toBe(uploadIds[1]);
      const parts = await Promise.all(
        keys.map((k, i) => Promise.all(contents[i]!.map((data, p) => store.putPart(k, uploadIds[i]!, p + 1, data)))),
      );
      await Promise.all(keys.map((k, i) => store.completeMultipart(k, uploadIds[i]!, parts[i]!)));
      for (const [i, k] of keys.entries()) {
        expect(sha256(await buffer(await store.read(k)))).toBe(sha256(...contents[i]!));
        await store.delete(k);
      }
    });

    it('refuses parts listed out of order, leaving no object and the upload still completable', async () => {
      const store = makeStore();
      const k = key('order');
      const first = randomBytes(MIN_PART_SIZE);
      const last = randomBytes(10);
      const uploadId = await store.startMultipart(k);
      const [part1, part2] = [await store.putPart(k, uploadId, 1, first), await store.putPart(k, uploadId, 2, last)];
      await expect(store.completeMultipart(k, uploadId, [part2!, part1!])).rejects.toMatchObject({ code: 'InvalidPartOrder' });
      expect(await store.stat(k)).toBeUndefined();
      await store.completeMultipart(k, uploadId, [part1!, part2!]);
      expect(sha256(await buffer(await store.read(k)))).toBe(sha256(first, last));
      await expect(store.putPart(k, uploadId, 3, last)).rejects.toMatchObject({ code: 'NoSuchUpload' });
      await store.delete(k);
    });

    it('refuses an unknown ETag, a small part before the last, an empty part list and an unknown upload', async () => {
      const store = makeStore();
      const k = key('refusals');
      const uploadId = await store.startMultipart(k);
      const small = await store.putPart(k, uploadId, 1, randomBytes(1000));
      const last = await store.putPart(k, uploadId, 2, randomBytes(10));
      await expect(store.completeMultipart(k, uploadId, [{ ...small, etag: 'f'.repeat(32) }])).rejects.toMatchObject({ code: 'InvalidPart' });
      await expect(store.completeMultipart(k, uploadId, [small, last])).rejects.toMatchObject({ code: 'EntityTooSmall' });
      await expect(store.completeMultipart(k, uploadId, [])).rejects.toThrow();
      expect(await store.stat(k)).toBeUndefined();
      await expect(store.putPart(key('other'), uploadId, 1, randomBytes(10))).rejects.toMatchObject({ code: 'NoSuchUpload' });
      await store.abortMultipart(k, uploadId);
    });

    it('refuses a key with a ".." segment', async () => {
      const store = makeStore();
      await expect(store.put('contract/../escape', Buffer.from('x'))).rejects.toThrow();
    });
  });
}
