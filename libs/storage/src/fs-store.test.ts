import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobStoreContract } from './contract';
import { InvalidStorageKeyError } from './blob-store';
import { FsBlobStore } from './fs-store';
import { parseUploadState } from './upload-state';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ocireg-fs-store-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

blobStoreContract('filesystem', () => new FsBlobStore(root), { bufferedPulls: true, signedUrls: false });

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
    }
  });

  it('refuses an upload id that could leave the uploads directory', async () => {
    const store = new FsBlobStore(root);
    for (const uploadId of ['../objects', '', 'a/b', '..']) await expect(store.createUpload(uploadId)).rejects.toBeInstanceOf(InvalidStorageKeyError);
  });

  it('refuses a relative root', () => {
    expect(() => new FsBlobStore('data/blobs')).toThrow(/absolute/);
  });

  it('writes an upload as one file, places it by digest (a duplicate costs nothing), and leaves no file behind', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ocireg-fs-tidy-'));
    try {
      const store = new FsBlobStore(dir);
      const data = randomBytes(3 * 1024 * 1024);
      const hex = createHash('sha256').update(data).digest('hex');
      const upload = async () => {
        const created = await store.createUpload(randomUUID());
        const { state } = await store.appendUpload(created, (async function* () { yield data.subarray(0, 1000); yield data.subarray(1000); })(), { maxSize: data.length });
        // One file, written where the upload's key says, nothing else.
        expect((await readdir(path.join(dir, 'objects', 'uploads'))).length).toBe(1);
        const sealed = await store.sealUpload(state);
        const placed = await store.placeBlob(sealed, `sha256:${hex}`);
        await store.confirmPlaced(sealed, `sha256:${hex}`);
        return placed;
      };
      const key = await upload();
      expect(key).toBe(`blobs/sha256/${hex.slice(0, 2)}/${hex}`);
      expect(await upload()).toBe(key);
      expect(await readdir(path.join(dir, 'objects', 'uploads')).catch(() => [])).toEqual([]);
      expect((await stat(path.join(dir, 'objects', key))).mode & 0o777).toBe(0o600);
      const aborted = await store.createUpload(randomUUID());
      await store.abortUpload(aborted);
      await store.abortUpload(aborted); // idempotent
      await store.put('uploads/u1/tail-3', Buffer.from('abc'));
      await store.delete('uploads/u1/tail-3');
      expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
      expect(await readdir(path.join(dir, 'objects'))).toEqual(['blobs']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('continues and seals an upload whose state was written before states had versions ({backend, key, size})', async () => {
    const store = new FsBlobStore(root);
    const { state } = await store.appendUpload(await store.createUpload(randomUUID()), (async function* () { yield Buffer.from('before the upgrade, '); })(), { maxSize: 1000 });
    const old = { backend: 'fs', key: state.key, size: state.size };
    const restored = parseUploadState(JSON.stringify(old))!;
    expect(restored.version).toBe(1);
    const { state: after } = await store.appendUpload(restored, (async function* () { yield Buffer.from('after it'); })(), { maxSize: 1000 });
    expect(after).toEqual({ backend: 'fs', version: 1, key: state.key, size: 28 });
    expect(await text(await store.read(await store.sealUpload(after)))).toBe('before the upgrade, after it');
    await store.abortUpload(after);
  });

  it('treats a directory (a prefix of other keys) as no object', async () => {
    const store = new FsBlobStore(root);
    await store.put('prefix/inner', Buffer.from('x'));
    expect(await store.stat('prefix')).toBeUndefined();
    await expect(store.read('prefix')).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    await store.delete('prefix');
    expect(await text(await store.read('prefix/inner'))).toBe('x');
  });
});
