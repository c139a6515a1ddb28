import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { createBlobStore, type BlobStore, type UploadState } from '@ocireg/storage';
import { FsSessionStore } from './fs-session-store';
import { RedisSessionStore } from './redis-session-store';
import type { SessionStore } from './sessions';
import { UploadService, type UploadLimits } from './upload-service';

const MiB = 1024 * 1024;
const OWNER = 'user-1';

function sha256(...chunks: Buffer[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

async function* chunksOf(data: Buffer, size = 256 * 1024): AsyncIterable<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

/** Where blobs and sessions live; `open` gives a fresh namespace, so the sweeper test touches no other file's sessions. */
interface Backend {
  name: string;
  open(): Promise<{ store: BlobStore; sessions: () => SessionStore; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'MinIO and Redis',
    async open() {
      const redis = new Redis(process.env.REDIS_URL!);
      const prefix = `test-${randomBytes(4).toString('hex')}`;
      const store = await createBlobStore({ ...process.env, STORAGE_BACKEND: 's3' }, { createBucket: true });
      return { store, sessions: () => new RedisSessionStore(redis, 3600, prefix), close: async () => void (await redis.quit()) };
    },
  },
  ...(['azure', 'gcs'] as const).map((name) => ({
    name: `${name === 'azure' ? 'Azurite' : 'fake-gcs-server'} and Redis`,
    async open() {
      const redis = new Redis(process.env.REDIS_URL!);
      const prefix = `test-${randomBytes(4).toString('hex')}`;
      const store = await createBlobStore({ ...process.env, STORAGE_BACKEND: name }, { createBucket: true });
      return { store, sessions: () => new RedisSessionStore(redis, 3600, prefix), close: async () => void (await redis.quit()) };
    },
  })),
  {
    name: 'the filesystem (embedded mode, DATA_DIR)',
    async open() {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'ocireg-upload-'));
      const store = await createBlobStore({ STORAGE_BACKEND: 'filesystem', DATA_DIR: dataDir });
      return { store, sessions: () => new FsSessionStore(path.join(dataDir, 'upload-sessions'), 3600), close: () => rm(dataDir, { recursive: true, force: true }) };
    },
  },
];

describe.each(backends)('UploadService against $name', (backend) => {
  let store: BlobStore;
  let sessions: () => SessionStore;
  let close: (() => Promise<void>) | undefined;
  const logger = createLogger({ service: 'test', level: 'silent' });

  const service = (limits: Partial<UploadLimits> = {}, now?: () => number, blobStore = store) =>
    new UploadService({ store: blobStore, sessions: sessions(), logger, limits: { maxBlobSize: 64 * MiB, timeLimitMs: 60_000, maxSessionsPerUser: 100, leaseMs: 5000, ...limits }, now });

  /** What the gateway does for one PATCH: take the lease, stream into storage, commit (or release on failure). */
  async function append(uploads: UploadService, id: string, data: Buffer | AsyncIterable<Buffer>, options: { offset?: number; owner?: string; onChunk?: (chunk: Buffer) => void } = {}): Promise<number> {
    const plan = await uploads.beginAppend(id, 'acme/app', options.owner ?? OWNER, options.offset);
    try {
      const { state, obsolete } = await store.appendUpload(plan.state, Buffer.isBuffer(data) ? chunksOf(data) : data, { maxSize: plan.maxSize, onChunk: options.onChunk });
      const size = await uploads.commitAppend(id, plan.leaseId, state);
      for (const key of obsolete) await store.delete(key);
      return size;
    } catch (err) {
      await uploads.releaseAppend(id, plan.leaseId);
      throw err;
    }
  }

  beforeAll(async () => {
    ({ store, sessions, close } = await backend.open());
  });

  afterAll(async () => {
    await close?.();
  });

  it('takes one append into storage and verifies the digest the writer computed, without reading the bytes back', async () => {
    const uploads = service();
    const data = randomBytes(12 * MiB + 123);
    const session = await uploads.start('acme/app', OWNER);
    expect(await append(uploads, session.id, data)).toBe(data.length);
    const blob = await uploads.complete(session.id, 'acme/app', OWNER, sha256(data), { digest: sha256(data), size: data.length });
    expect(blob.size).toBe(data.length);
    expect(sha256(await buffer(await store.read(blob.storageKey)))).toBe(sha256(data));
  });

  it('accepts chunks smaller than an S3 part, checks Content-Range offsets, and reads the bytes back to verify when no writer hashed them all', async () => {
    const uploads = service();
    const chunks = [randomBytes(3 * MiB), randomBytes(3 * MiB), randomBytes(1000)];
    const session = await uploads.start('acme/app', OWNER);
    let offset = 0;
    for (const chunk of chunks) offset = await append(uploads, session.id, chunk, { offset });
    await expect(append(uploads, session.id, randomBytes(10), { offset: 5 })).rejects.toMatchObject({ code: 'RANGE_INVALID', httpStatus: 416 });
    expect(await uploads.status(session.id, 'acme/app', OWNER)).toBe(offset);
    // A digest of only some of the bytes (another gateway took the rest) is not trusted.
    const blob = await uploads.complete(session.id, 'acme/app', OWNER, sha256(...chunks), { digest: sha256(chunks[0]!), size: chunks[0]!.length });
    expect(sha256(await buffer(await store.read(blob.storageKey)))).toBe(sha256(...chunks));
  });

  it('resumes a session in a new process and still verifies', async () => {
    const first = await service().start('acme/app', OWNER);
    const part1 = randomBytes(2 * MiB);
    await append(service(), first.id, part1, { offset: 0 });
    const part2 = randomBytes(4 * MiB);
    const restarted = service();
    await append(restarted, first.id, part2, { offset: part1.length });
    const blob = await restarted.complete(first.id, 'acme/app', OWNER, sha256(part1, part2));
    expect(blob.size).toBe(part1.length + part2.length);
  });

  it('lets one writer at a time append (another is told, retryably, when to try again), and frees the lease when the writer gives up', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app', OWNER);
    const plan = await uploads.beginAppend(session.id, 'acme/app', OWNER, undefined);
    expect(plan.leaseMs).toBe(5000);
    const busy = { code: 'TOOMANYREQUESTS', httpStatus: 429, message: expect.stringContaining('another request'), detail: { retryAfterSeconds: 5 } };
    await expect(uploads.beginAppend(session.id, 'acme/app', OWNER, undefined)).rejects.toMatchObject(busy);
    await expect(uploads.complete(session.id, 'acme/app', OWNER, sha256())).rejects.toMatchObject(busy);
    await expect(uploads.commitAppend(session.id, 'not-the-lease', plan.state)).rejects.toMatchObject({ code: 'UNAVAILABLE', detail: { offset: 0 } });
    await uploads.releaseAppend(session.id, plan.leaseId);
    expect(await append(uploads, session.id, randomBytes(10))).toBe(10);
  });

  it('frees the session of a writer that died (neither committed, released nor renewed) within one lease, and the dead writer cannot commit after that', async () => {
    const uploads = service({ leaseMs: 1000 });
    const session = await uploads.start('acme/app', OWNER);
    const first = randomBytes(1000);
    await append(uploads, session.id, first);
    const dead = await uploads.beginAppend(session.id, 'acme/app', OWNER, first.length);
    const { state: deadState } = await store.appendUpload(dead.state, chunksOf(randomBytes(500)), { maxSize: dead.maxSize });
    await expect(uploads.beginAppend(session.id, 'acme/app', OWNER, first.length)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS', detail: { retryAfterSeconds: 1 } });

    await sleep(1100);
    const rest = randomBytes(2000);
    const next = await uploads.beginAppend(session.id, 'acme/app', OWNER, first.length);
    expect(next.size).toBe(first.length);
    expect(await uploads.renewAppend(session.id, dead.leaseId)).toEqual({ held: false, leaseMs: 0 });
    await expect(uploads.commitAppend(session.id, dead.leaseId, deadState)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('lapsed') });
    const { state } = await store.appendUpload(next.state, chunksOf(rest), { maxSize: next.maxSize });
    expect(await uploads.commitAppend(session.id, next.leaseId, state)).toBe(first.length + rest.length);
    const blob = await uploads.complete(session.id, 'acme/app', OWNER, sha256(first, rest));
    expect(sha256(await buffer(await store.read(blob.storageKey)))).toBe(sha256(first, rest));
  });

  it('keeps the lease of a writer that renews it past its first term, and renews it only for its holder', async () => {
    const uploads = service({ leaseMs: 1000 });
    const session = await uploads.start('acme/app', OWNER);
    const plan = await uploads.beginAppend(session.id, 'acme/app', OWNER, 0);
    for (let i = 0; i < 4; i++) {
      await sleep(400);
      expect(await uploads.renewAppend(session.id, plan.leaseId)).toEqual({ held: true, leaseMs: 1000 });
    }
    // 1.6 s after it was taken.
    await expect(uploads.beginAppend(session.id, 'acme/app', OWNER, 0)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    expect(await uploads.renewAppend(session.id, 'someone-else')).toEqual({ held: false, leaseMs: 0 });
    const data = randomBytes(100);
    const { state } = await store.appendUpload(plan.state, chunksOf(data), { maxSize: plan.maxSize });
    expect(await uploads.commitAppend(session.id, plan.leaseId, state)).toBe(100);
    expect(await uploads.renewAppend(session.id, plan.leaseId)).toEqual({ held: false, leaseMs: 0 });
  });

  it('never runs a write lease past the session time limit', async () => {
    let clock = Date.now();
    const uploads = service({ timeLimitMs: 10_000, leaseMs: 5000 }, () => clock);
    const session = await uploads.start('acme/app', OWNER);
    clock += 7000;
    const plan = await uploads.beginAppend(session.id, 'acme/app', OWNER, 0);
    expect([plan.leaseMs, plan.deadlineMs]).toEqual([3000, session.startedAt + 10_000]);
    clock += 2000;
    expect(await uploads.renewAppend(session.id, plan.leaseId)).toEqual({ held: true, leaseMs: 1000 });
    clock += 1001;
    expect(await uploads.renewAppend(session.id, plan.leaseId)).toEqual({ held: false, leaseMs: 0 });
    await expect(uploads.commitAppend(session.id, plan.leaseId, plan.state)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN', message: expect.stringContaining('timed out') });
  });

  it('holds the lease while it completes, for longer than one term, and a completion that died holds it for one term at most', async () => {
    // Sealing takes 1.5 s here: three of the 600 ms leases.
    const slowStore: BlobStore = Object.assign(Object.create(store) as BlobStore, {
      sealUpload: async (state: UploadState) => {
        await sleep(1500);
        return store.sealUpload(state);
      },
    });
    const uploads = service({ leaseMs: 600 }, undefined, slowStore);
    const data = randomBytes(3000);
    const session = await uploads.start('acme/app', OWNER);
    await append(uploads, session.id, data);
    const completing = uploads.complete(session.id, 'acme/app', OWNER, sha256(data));
    await sleep(1000);
    await expect(uploads.beginAppend(session.id, 'acme/app', OWNER, data.length)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    expect((await completing).size).toBe(data.length);

    // A blob-upload that died while completing left its lease behind.
    const other = await uploads.start('acme/app', OWNER);
    await append(uploads, other.id, data);
    expect(await sessions().acquireLease(other.id, 'died-completing', 600)).toEqual({ acquired: true });
    await expect(service().complete(other.id, 'acme/app', OWNER, sha256(data))).rejects.toMatchObject({ code: 'TOOMANYREQUESTS', httpStatus: 429 });
    await sleep(700);
    expect((await service().complete(other.id, 'acme/app', OWNER, sha256(data))).size).toBe(data.length);
  });

  it('refuses a wrong digest, deletes the bytes and forgets the session', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app', OWNER);
    await append(uploads, session.id, randomBytes(1000));
    await expect(uploads.complete(session.id, 'acme/app', OWNER, sha256(Buffer.from('other')))).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    await expect(uploads.status(session.id, 'acme/app', OWNER)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
  });

  it('stores an empty blob', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app', OWNER);
    const blob = await uploads.complete(session.id, 'acme/app', OWNER, sha256());
    expect(await store.stat(blob.storageKey)).toEqual({ size: 0 });
  });

  it('refuses a blob as soon as it crosses the size limit', async () => {
    const uploads = service({ maxBlobSize: 6 * MiB });
    const session = await uploads.start('acme/app', OWNER);
    await expect(append(uploads, session.id, randomBytes(7 * MiB))).rejects.toMatchObject({ code: 'SIZE_INVALID', httpStatus: 413, message: expect.stringContaining(String(6 * MiB)) });
    expect(await uploads.status(session.id, 'acme/app', OWNER)).toBe(0);
  });

  it('expires a session older than the time limit', async () => {
    let clock = Date.now();
    const uploads = service({ timeLimitMs: 1000 }, () => clock);
    const session = await uploads.start('acme/app', OWNER);
    await append(uploads, session.id, randomBytes(100), { offset: 0 });
    clock += 1001;
    await expect(append(uploads, session.id, randomBytes(100), { offset: 100 })).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN', message: expect.stringContaining('timed out') });
    expect(await sessions().get(session.id)).toBeUndefined();
    expect(await sessions().wasExpired(session.id)).toBe(true);
  });

  it('sweeps sessions past the time limit and frees their storage', async () => {
    let clock = Date.now();
    const uploads = service({ timeLimitMs: 1000 }, () => clock);
    const stale = await uploads.start('acme/app', OWNER);
    await append(uploads, stale.id, randomBytes(100), { offset: 0 });
    // What the session holds in storage: its file, or its tail (a part's worth of bytes is not there yet).
    const held = async () => {
      const keys: string[] = [];
      for await (const object of store.list('uploads/')) if (object.key.includes(stale.id)) keys.push(`${object.key} ${object.size}`);
      return keys;
    };
    expect(await held()).toEqual([expect.stringMatching(/ 100$/)]);
    clock += 500;
    const fresh = await uploads.start('acme/app', OWNER);
    clock += 600; // stale is 1.1 s old, fresh 0.6 s
    expect(await uploads.sweepExpired()).toBeGreaterThanOrEqual(1);
    expect(await sessions().get(stale.id)).toBeUndefined();
    expect(await sessions().startedBefore(clock, 100)).not.toContain(stale.id);
    expect(await held()).toEqual([]);
    expect(await uploads.status(fresh.id, 'acme/app', OWNER)).toBe(0);
    await expect(uploads.status(stale.id, 'acme/app', OWNER)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN', message: expect.stringContaining('timed out') });
  });

  it('keeps sessions of one repository away from another', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app', OWNER);
    await expect(uploads.status(session.id, 'other/app', OWNER)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
  });

  it('binds a session to the user who opened it: another user with push on the repository finds nothing', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app', OWNER);
    await expect(uploads.status(session.id, 'acme/app', 'someone-else')).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
    await expect(uploads.beginAppend(session.id, 'acme/app', 'someone-else', undefined)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
    await expect(uploads.complete(session.id, 'acme/app', 'someone-else', sha256())).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
    await expect(uploads.cancel(session.id, 'acme/app', 'someone-else')).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
    expect(await uploads.status(session.id, 'acme/app', OWNER)).toBe(0);
  });

  it('caps the sessions one user has open, and a finished one frees its place', async () => {
    const uploads = service({ maxSessionsPerUser: 3 });
    const owner = `capped-${randomBytes(4).toString('hex')}`;
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await uploads.start('acme/app', owner));
    await expect(uploads.start('acme/app', owner)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS', httpStatus: 429 });
    expect(await uploads.start('acme/app', `${owner}-other`)).toBeTruthy();
    await uploads.cancel(open[0]!.id, 'acme/app', owner);
    expect(await uploads.start('acme/app', owner)).toBeTruthy();
  });
});
