import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_PART_SIZE } from './blob-store';
import { blobStoreContract } from './contract';
import { FsBlobStore, InvalidStorageKeyError } from './fs-store';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ocireg-fs-store-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

blobStoreContract('filesystem', () => new FsBlobStore(root));

describe('FsBlobStore', () => {
  it('refuses keys that could leave the root, naming the problem', async () => {
    const store = new FsBlobStore(root);
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['/etc/passwd', /absolute/],
      ['a/../../etc', /"\.\." segment/],
      ['a/./b', /"\." or/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['a\\b', /backslash/],
      ['a\0b', /NUL/],
    ];
    for (const [key, problem] of cases) {
      await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(problem);
      await expect(store.read(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
      await expect(store.stat(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
      await expect(store.startMultipart(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
    }
  });

  it('refuses an upload id that is not one it issued', async () => {
    const store = new FsBlobStore(root);
    for (const uploadId of ['../objects', '', 'not-a-uuid', '00000000-0000-4000-8000-000000000000']) {
      await expect(store.putPart('k', uploadId, 1, Buffer.from('x'))).rejects.toMatchObject({ code: 'NoSuchUpload' });
    }
  });

  it('refuses a relative root', () => {
    expect(() => new FsBlobStore('data/blobs')).toThrow(/absolute/);
  });

  it('leaves no staging, temporary or emptied directories behind', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ocireg-fs-tidy-'));
    try {
      const store = new FsBlobStore(dir);
      const completed = await store.startMultipart('blobs/done');
      const parts = [await store.putPart('blobs/done', completed, 1, Buffer.alloc(MIN_PART_SIZE)), await store.putPart('blobs/done', completed, 2, Buffer.from('end'))];
      await store.completeMultipart('blobs/done', completed, parts);
      const aborted = await store.startMultipart('blobs/gone');
      await store.putPart('blobs/gone', aborted, 1, Buffer.from('x'));
      await store.abortMultipart('blobs/gone', aborted);
      await store.abortMultipart('blobs/gone', aborted); // idempotent
      await store.put('uploads/u1/tail-3', Buffer.from('abc'));
      await store.delete('uploads/u1/tail-3');

      expect(await readdir(path.join(dir, 'multipart'))).toEqual([]);
      expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
      expect(await readdir(path.join(dir, 'objects'))).toEqual(['blobs']);
      expect(await readdir(path.join(dir, 'objects', 'blobs'))).toEqual(['done']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('treats a directory (a prefix of other keys) as no object', async () => {
    const store = new FsBlobStore(root);
    await store.put('prefix/inner', Buffer.from('x'));
    expect(await store.stat('prefix')).toBeUndefined();
    await expect(store.read('prefix')).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    await store.delete('prefix');
    expect(await text(await store.read('prefix/inner'))).toBe('x');
  });

  it('keeps the previous object when a completion fails halfway', async () => {
    const store = new FsBlobStore(root);
    await store.put('blobs/kept', Buffer.from('previous'));
    const uploadId = await store.startMultipart('blobs/kept');
    const part = await store.putPart('blobs/kept', uploadId, 1, Buffer.from('new'));
    // A directory in place of the part passes the checks, then fails the copy (EISDIR).
    const partFile = path.join(root, 'multipart', uploadId, `1.${part.etag}`);
    await rm(partFile);
    await mkdir(partFile);
    await expect(store.completeMultipart('blobs/kept', uploadId, [part])).rejects.toMatchObject({ code: 'EISDIR' });
    expect(await text(await store.read('blobs/kept'))).toBe('previous');
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
  });
});
