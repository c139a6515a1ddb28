import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { ObjectNotFoundError, type BlobStore, type StaleUpload, type UploadState } from './blob-store';
import { parseUploadState } from './upload-state';

const sha256 = (...chunks: Buffer[]) => chunks.reduce((hash, chunk) => hash.update(chunk), createHash('sha256')).digest('hex');
const MiB = 1024 * 1024;
const NO_LIMIT = { maxSize: Number.MAX_SAFE_INTEGER };
/** The sizes below are chosen around parts of 5 MiB (the default of every backend that uploads in parts): whole parts, short ones, tails. */
const PART = 5 * MiB;

/** A buffer as a stream of chunks of `size`, like a request body. */
async function* chunks(data: Buffer, size = 256 * 1024): AsyncIterable<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

/** The first `bytes` of `data`, then a failure, like a client that goes away mid-request. */
async function* brokenAfter(data: Buffer, bytes: number): AsyncIterable<Buffer> {
  yield* chunks(data.subarray(0, bytes));
  throw new Error('client went away');
}

/** A new upload with `pieces` appended one append each, as a client's PATCHes (obsolete objects deleted as the gateway does); its state. */
async function appendPieces(store: BlobStore, pieces: Buffer[], onChunk?: (chunk: Buffer) => void): Promise<UploadState> {
  let state = await store.createUpload(randomUUID());
  for (const piece of pieces) {
    const appended = await store.appendUpload(state, chunks(piece), { ...NO_LIMIT, onChunk });
    for (const key of appended.obsolete) await store.delete(key);
    state = appended.state;
  }
  return state;
}

/**
 * What an upload left in storage: objects under uploads/ and stale uploads
 * (files, tails, parts, unfinished multipart uploads, uncommitted blocks)
 * that name it. Nothing, once it is sealed (and the sealed object deleted)
 * or aborted.
 */
async function leftovers(store: BlobStore, uploadId: string): Promise<string[]> {
  const found: string[] = [];
  for await (const object of store.list('uploads/')) if (object.key.includes(uploadId)) found.push(object.key);
  for (const upload of await store.staleUploads(new Date(Date.now() + 60_000))) if (upload.key.includes(uploadId)) found.push(`stale ${upload.key}`);
  return [...new Set(found)];
}

/** What a backend has of the optional parts of BlobStore; the contract checks the store agrees, then tests what it has. */
export interface BlobStoreCapabilities {
  /** sendTo: pulls written through reused buffers (else callers read()). */
  bufferedPulls: boolean;
  /** presignedReadUrl: pulls may be redirected to the store. */
  signedUrls: boolean;
}

/** A case of a capability the backend does not have: not part of its suite (neither run nor listed as skipped). */
const notDeclared = (() => undefined) as unknown as typeof it;

/**
 * The contract every BlobStore backend passes; each backend's test calls
 * this with what it declares it has of the optional methods (sendTo,
 * presignedReadUrl); their cases are part of its suite only then, never
 * special-cased by backend.
 */
export function blobStoreContract(name: string, makeStore: () => BlobStore, capabilities: BlobStoreCapabilities): void {
  describe(`BlobStore contract: ${name}`, () => {
    it(`declares what it has: ${capabilities.bufferedPulls ? 'buffered pulls' : 'no buffered pulls'}, ${capabilities.signedUrls ? 'signed URLs' : 'no signed URLs'}`, () => {
      const store = makeStore();
      expect({ bufferedPulls: typeof store.sendTo === 'function', signedUrls: typeof store.presignedReadUrl === 'function' }).toEqual(capabilities);
    });

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

    it('appends an upload in several appends (a first one larger than a part, small ones), seals it, and places it as the blob of its digest', async () => {
      const store = makeStore();
      const pieces = [randomBytes(9 * MiB + 17), randomBytes(1000), randomBytes(6 * MiB), randomBytes(3)];
      const seen = createHash('sha256');
      const state = await appendPieces(store, pieces, (chunk) => seen.update(chunk));
      expect(state.size).toBe(pieces.reduce((total, piece) => total + piece.length, 0));
      expect(seen.digest('hex')).toBe(sha256(...pieces));
      const sealed = await store.sealUpload(state);
      expect(sha256(await buffer(await store.read(sealed)))).toBe(sha256(...pieces));
      const key = await store.placeBlob(sealed, `sha256:${sha256(...pieces)}`);
      expect(await store.stat(key)).toEqual({ size: state.size });
      expect(sha256(await buffer(await store.read(key, { offset: 9 * MiB, length: 1000 })))).toBe(sha256(Buffer.concat(pieces).subarray(9 * MiB, 9 * MiB + 1000)));
      await store.delete(key);
    });

    it('keeps the committed bytes when an append fails half way, and continues from them', async () => {
      const store = makeStore();
      const first = randomBytes(2 * MiB);
      const created = await store.createUpload(randomUUID());
      const { state } = await store.appendUpload(created, chunks(first), NO_LIMIT);
      await expect(store.appendUpload(state, brokenAfter(randomBytes(7 * MiB), 6 * MiB), NO_LIMIT)).rejects.toThrow('client went away');
      const second = randomBytes(5 * MiB + 5);
      const { state: after } = await store.appendUpload(state, chunks(second), NO_LIMIT);
      const sealed = await store.sealUpload(after);
      expect(sha256(await buffer(await store.read(sealed)))).toBe(sha256(first, second));
      await store.abortUpload(after);
    });

    it('stops an append once its signal aborts (its writer lost the lease): nothing after is taken, it rejects with the reason, the committed bytes stay', async () => {
      const store = makeStore();
      const first = randomBytes(1000);
      const { state } = await store.appendUpload(await store.createUpload(randomUUID()), chunks(first), NO_LIMIT);
      const controller = new AbortController();
      const lost = new Error('lease lost');
      async function* abortedAfter6MiB(): AsyncIterable<Buffer> {
        yield* chunks(randomBytes(6 * MiB));
        controller.abort(lost);
        yield* chunks(randomBytes(2 * MiB));
      }
      let taken = 0;
      await expect(store.appendUpload(state, abortedAfter6MiB(), { ...NO_LIMIT, signal: controller.signal, onChunk: (chunk) => (taken += chunk.length) })).rejects.toBe(lost);
      expect(taken).toBe(6 * MiB);
      // Aborted once the body has ended, before its last bytes are stored: it rejects all the same.
      const late = new AbortController();
      async function* abortedAtTheEnd(): AsyncIterable<Buffer> {
        yield randomBytes(3000);
        late.abort(lost);
      }
      await expect(store.appendUpload(state, abortedAtTheEnd(), { ...NO_LIMIT, signal: late.signal })).rejects.toBe(lost);
      const second = randomBytes(3000);
      const { state: after } = await store.appendUpload(state, chunks(second), NO_LIMIT);
      const sealed = await store.sealUpload(after);
      expect(sha256(await buffer(await store.read(sealed)))).toBe(sha256(first, second));
      await store.abortUpload(after);
    });

    it('refuses to grow an upload past its size limit with SIZE_INVALID / 413', async () => {
      const store = makeStore();
      const created = await store.createUpload(randomUUID());
      const { state } = await store.appendUpload(created, chunks(randomBytes(1000)), { maxSize: 1500 });
      await expect(store.appendUpload(state, chunks(randomBytes(501)), { maxSize: 1500 })).rejects.toMatchObject({ code: 'SIZE_INVALID', httpStatus: 413 });
      expect((await store.appendUpload(state, chunks(randomBytes(500)), { maxSize: 1500 })).state.size).toBe(1500);
      await store.abortUpload(state);
    });

    it('keeps one blob per digest: placing the same bytes again leaves a readable blob', async () => {
      const store = makeStore();
      const data = randomBytes(3000);
      const digest = `sha256:${sha256(data)}`;
      const place = async () => {
        const { state } = await store.appendUpload(await store.createUpload(randomUUID()), chunks(data), NO_LIMIT);
        return store.placeBlob(await store.sealUpload(state), digest);
      };
      const [first, second] = [await place(), await place()];
      expect(sha256(await buffer(await store.read(first)))).toBe(sha256(data));
      expect(sha256(await buffer(await store.read(second)))).toBe(sha256(data));
      await store.delete(first);
      await store.delete(second);
    });

    it('seals again what it sealed before (a retry after a failure past the seal), with or without a tail', async () => {
      const store = makeStore();
      for (const size of [6 * MiB + 3, 4 * MiB]) {
        const data = randomBytes(size);
        const { state } = await store.appendUpload(await store.createUpload(randomUUID()), chunks(data), NO_LIMIT);
        const sealed = await store.sealUpload(state);
        expect(await store.sealUpload(state)).toBe(sealed);
        expect(sha256(await buffer(await store.read(sealed)))).toBe(sha256(data));
        await store.abortUpload(state);
      }
    });

    it('seals an empty upload into an empty object', async () => {
      const store = makeStore();
      const sealed = await store.sealUpload(await store.createUpload(randomUUID()));
      expect(await store.stat(sealed)).toEqual({ size: 0 });
      await store.delete(sealed);
    });

    it('aborts an upload without leaving anything, sealed or not', async () => {
      const store = makeStore();
      const id = randomUUID();
      const { state } = await store.appendUpload(await store.createUpload(id), chunks(randomBytes(PART + 10)), NO_LIMIT);
      expect(await leftovers(store, id)).not.toEqual([]);
      await store.abortUpload(state);
      const sealedKey = await store.sealUpload(state).catch(() => undefined);
      if (sealedKey) expect(await store.stat(sealedKey)).toBeUndefined();
      expect(await leftovers(store, id)).toEqual([]);
      const otherId = randomUUID();
      const other = await store.appendUpload(await store.createUpload(otherId), chunks(randomBytes(10)), NO_LIMIT);
      const sealed = await store.sealUpload(other.state);
      await store.abortUpload(other.state);
      expect(await store.stat(sealed)).toBeUndefined();
      expect(await leftovers(store, otherId)).toEqual([]);
    });

    it('leaves nothing of an append that never committed (a crash before the commit), once the upload is sealed or aborted', async () => {
      const store = makeStore();
      for (const finish of ['seal', 'abort'] as const) {
        const id = randomUUID();
        const first = randomBytes(1000);
        const { state } = await store.appendUpload(await store.createUpload(id), chunks(first), NO_LIMIT);
        await store.appendUpload(state, chunks(randomBytes(PART + 2000)), NO_LIMIT); // never committed
        if (finish === 'seal') {
          const sealed = await store.sealUpload(state);
          expect(sha256(await buffer(await store.read(sealed)))).toBe(sha256(first));
          await store.delete(sealed);
        } else {
          await store.abortUpload(state);
        }
        expect(await leftovers(store, id), finish).toEqual([]);
      }
    });

    it('continues an upload from its state as JSON in another instance (another process, after a restart), and refuses a state it did not write', async () => {
      const first = randomBytes(PART + 123);
      const { state } = await makeStore().appendUpload(await makeStore().createUpload(randomUUID()), chunks(first), NO_LIMIT);
      const stored = JSON.stringify(state);
      const restored = parseUploadState(stored)!;
      expect(restored).toMatchObject({ backend: state.backend, version: state.version, key: state.key, size: first.length });
      const second = randomBytes(2 * PART + 5);
      const later = makeStore();
      const { state: after } = await later.appendUpload(restored, chunks(second), NO_LIMIT);
      expect(parseUploadState(JSON.stringify(after))).toMatchObject({ backend: state.backend, key: state.key, size: first.length + second.length });
      const sealed = await later.sealUpload(after);
      expect(sha256(await buffer(await later.read(sealed)))).toBe(sha256(first, second));
      await later.abortUpload(after);
      const foreign = { ...restored, backend: `not-${restored.backend}` };
      await expect(later.appendUpload(foreign, chunks(randomBytes(10)), NO_LIMIT)).rejects.toThrow(/cannot continue/);
      await expect(later.appendUpload({ ...restored, version: 99 }, chunks(randomBytes(10)), NO_LIMIT)).rejects.toThrow(/version 99/);
    });

    it('keeps a placed blob whole when a collector frees it before metadata names it again (confirmPlaced), and frees the sealed upload', async () => {
      const store = makeStore();
      const data = randomBytes(70_000);
      const digest = `sha256:${sha256(data)}`;
      const { state } = await store.appendUpload(await store.createUpload(randomUUID()), chunks(data), NO_LIMIT);
      const sealed = await store.sealUpload(state);
      const placed = await store.placeBlob(sealed, digest);
      if (store.contentAddressed) {
        await store.delete(placed); // a collector freeing an earlier blob of this digest
        await store.confirmPlaced(sealed, digest);
        expect(await store.stat(sealed)).toBeUndefined();
      } else {
        await store.confirmPlaced(sealed, digest);
      }
      expect(sha256(await buffer(await store.read(placed)))).toBe(sha256(data));
      await store.delete(placed);
    });

    it('lists objects under a prefix with their sizes and times', async () => {
      const store = makeStore();
      const data = randomBytes(1234);
      const digest = `sha256:${sha256(data)}`;
      const { state } = await store.appendUpload(await store.createUpload(randomUUID()), chunks(data), NO_LIMIT);
      const sealed = await store.sealUpload(state);
      const placed = await store.placeBlob(sealed, digest);
      await store.confirmPlaced(sealed, digest);
      const before = Date.now();
      const listed = [];
      for await (const object of store.list('blobs/')) if (object.key === placed) listed.push(object);
      expect(listed).toHaveLength(1);
      expect(listed[0]!.size).toBe(1234);
      expect(Math.abs(listed[0]!.modified.getTime() - before)).toBeLessThan(60_000);
      await store.delete(placed);
      for await (const object of store.list('blobs/')) expect(object.key).not.toBe(placed);
    });

    it('finds and removes what abandoned uploads left (files, tails, unfinished multipart uploads)', async () => {
      const store = makeStore();
      const id = randomUUID();
      const created = await store.createUpload(id);
      await store.appendUpload(created, chunks(randomBytes(PART + 1000)), NO_LIMIT); // parts and a tail, never committed
      const mine = (found: StaleUpload[]) => found.filter((upload) => upload.key.includes(id));
      expect(mine(await store.staleUploads(new Date(Date.now() - 60_000)))).toEqual([]);
      const stale = mine(await store.staleUploads(new Date(Date.now() + 60_000)));
      expect(stale.length).toBeGreaterThan(0);
      for (const upload of stale) await store.removeStaleUpload(upload);
      expect(mine(await store.staleUploads(new Date(Date.now() + 60_000)))).toEqual([]);
    });

    it('keeps concurrent uploads apart, and later ones too (a store may reuse its part buffers)', async () => {
      const store = makeStore();
      // Full parts, a last part of at least the minimum, tails carried into the next append, and a small one.
      const uploads = [[randomBytes(17 * MiB), randomBytes(6 * MiB)], [randomBytes(9 * MiB), randomBytes(5 * MiB + 3)], [randomBytes(6 * MiB)], [randomBytes(777)]];
      const upload = async (pieces: Buffer[]) => store.sealUpload(await appendPieces(store, pieces));
      for (const round of [uploads, [...uploads].reverse()]) {
        const keys = await Promise.all(round.map(upload));
        for (const [i, key] of keys.entries()) {
          expect(sha256(await buffer(await store.read(key)))).toBe(sha256(...round[i]!));
          await store.delete(key);
        }
      }
    });

    // Optional parts: only where the backend declares them (the first case checks it does as it says).
    const withBufferedPulls = capabilities.bufferedPulls ? it : notDeclared;
    const withSignedUrls = capabilities.signedUrls ? it : notDeclared;

    withBufferedPulls('sends an object, whole and by range, into a slow destination through reused buffers, after begin', async () => {
      const store = makeStore();
      const k = key('send');
      const data = randomBytes(5 * MiB + 3);
      await store.put(k, data);
      const sent = async (range?: { offset: number; length?: number }) => {
        const received: Buffer[] = [];
        let begun = false;
        const destination = new Writable({
          highWaterMark: 64 * 1024,
          write(chunk: Buffer, _encoding, callback) {
            expect(begun).toBe(true);
            received.push(Buffer.from(chunk)); // the store reuses its buffer once this write is done
            setTimeout(callback, 1);
          },
        });
        await store.sendTo!(k, range, destination, () => (begun = true));
        return Buffer.concat(received);
      };
      expect(sha256(await sent())).toBe(sha256(data));
      expect(sha256(await sent({ offset: 0 }))).toBe(sha256(data));
      expect(sha256(await sent({ offset: MiB + 1, length: 2 * MiB }))).toBe(sha256(data.subarray(MiB + 1, 3 * MiB + 1)));
      expect(sha256(await sent({ offset: 5 * MiB, length: 100 }))).toBe(sha256(data.subarray(5 * MiB)));
      await store.delete(k);
    });

    withBufferedPulls('refuses to send a missing object or a range past its end before begin, and stops when the destination fails', async () => {
      const store = makeStore();
      const k = key('send-fail');
      await store.put(k, randomBytes(3 * MiB));
      const begin = () => {
        throw new Error('begin must not be called');
      };
      const sink = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });
      await expect(store.sendTo!(key('missing'), undefined, sink(), begin)).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.sendTo!(k, { offset: 3 * MiB }, sink(), begin)).rejects.toMatchObject({ code: 'RANGE_INVALID' });
      const failing = new Writable({ write: (_chunk, _encoding, callback) => callback(new Error('client went away')) });
      failing.on('error', () => undefined);
      await expect(store.sendTo!(k, undefined, failing, () => undefined)).rejects.toThrow();
      await store.delete(k);
    });

    withSignedUrls('signs a URL that reads the object, whole and by Range, without credentials', async () => {
      const store = makeStore();
      const k = key('signed');
      const data = randomBytes(70_000);
      await store.put(k, data);
      const url = await store.presignedReadUrl!(k, 60);
      const whole = await fetch(url);
      expect(whole.status).toBe(200);
      expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(sha256(data));
      const ranged = await fetch(url, { headers: { Range: 'bytes=10-19' } });
      expect(ranged.status).toBe(206);
      expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
      const other = key('signed-other');
      await store.put(other, Buffer.from('other'));
      expect(await (await fetch(await store.presignedReadUrl!(other, 60))).text()).toBe('other');
      await store.delete(k);
      await store.delete(other);
    });

    it('refuses a key with a ".." segment', async () => {
      const store = makeStore();
      await expect(store.put('contract/../escape', Buffer.from('x'))).rejects.toThrow();
    });
  });
}
