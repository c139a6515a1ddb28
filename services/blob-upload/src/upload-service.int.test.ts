import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { createBlobStore, MIN_PART_SIZE, type BlobStore } from '@ocireg/storage';
import { FsSessionStore, RedisSessionStore, type SessionStore } from './sessions';
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
      const store = await createBlobStore(process.env, { createBucket: true });
      return { store, sessions: () => new RedisSessionStore(redis, 3600, prefix), close: async () => void (await redis.quit()) };
    },
  },
  {
    name: 'the filesystem (embedded mode, DATA_DIR)',
    async open() {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'ocireg-upload-'));
      const store = await createBlobStore({ DATA_DIR: dataDir });
      return { store, sessions: () => new FsSessionStore(path.join(dataDir, 'upload-sessions'), 3600), close: () => rm(dataDir, { recursive: true, force: true }) };
    },
  },
];

describe.each(backends)('UploadService against $name', (backend) => {
  let store: BlobStore;
  let sessions: () => SessionStore;
  let close: (() => Promise<void>) | undefined;
  const logger = createLogger({ service: 'test', level: 'silent' });

  const service = (limits: Partial<UploadLimits> = {}, now?: () => number) =>
    new UploadService({
      store,
      sessions: sessions(),
      logger,
      limits: { partSize: MIN_PART_SIZE, maxBlobSize: 64 * MiB, timeLimitMs: 60_000, maxSessionsPerUser: 100, ...limits },
      now,
    });

  beforeAll(async () => {
    ({ store, sessions, close } = await backend.open());
  });

  afterAll(async () => {
    await close?.();
  });

  it('streams one big append into parts and verifies the digest', async () => {
    const uploads = service();
    const data = randomBytes(12 * MiB + 123);
    const session = await uploads.start('acme/app', OWNER);
    expect(await uploads.append(session.id, 'acme/app', OWNER, {}, chunksOf(data))).toBe(data.length);
    const blob = await uploads.complete(session.id, 'acme/app', OWNER, sha256(data));
    expect(blob.size).toBe(data.length);
    expect(sha256(await buffer(await store.read(blob.storageKey)))).toBe(sha256(data));
  });

  it('accepts chunks smaller than an S3 part and checks Content-Range offsets', async () => {
    const uploads = service();
    const chunks = [randomBytes(3 * MiB), randomBytes(3 * MiB), randomBytes(1000)];
    const session = await uploads.start('acme/app', OWNER);
    let offset = 0;
    for (const chunk of chunks) {
      offset = await uploads.append(session.id, 'acme/app', OWNER, { offset }, chunksOf(chunk));
    }
    await expect(uploads.append(session.id, 'acme/app', OWNER, { offset: 5 }, chunksOf(randomBytes(10)))).rejects.toMatchObject({ code: 'RANGE_INVALID', httpStatus: 416 });
    expect(await uploads.status(session.id, 'acme/app', OWNER)).toBe(offset);
    const blob = await uploads.complete(session.id, 'acme/app', OWNER, sha256(...chunks));
    expect(sha256(await buffer(await store.read(blob.storageKey)))).toBe(sha256(...chunks));
  });

  it('resumes a session in a new process (no in-memory hash) and still verifies', async () => {
    const first = await service().start('acme/app', OWNER);
    const part1 = randomBytes(2 * MiB);
    await service().append(first.id, 'acme/app', OWNER, { offset: 0 }, chunksOf(part1));
    const part2 = randomBytes(4 * MiB);
    const restarted = service();
    await restarted.append(first.id, 'acme/app', OWNER, { offset: part1.length }, chunksOf(part2));
    const blob = await restarted.complete(first.id, 'acme/app', OWNER, sha256(part1, part2));
    expect(blob.size).toBe(part1.length + part2.length);
  });

  it('refuses a wrong digest, deletes the bytes and forgets the session', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app', OWNER);
    await uploads.append(session.id, 'acme/app', OWNER, {}, chunksOf(randomBytes(1000)));
    await expect(uploads.complete(session.id, 'acme/app', OWNER, sha256(Buffer.from('other')))).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect(await store.stat(session.storageKey)).toBeUndefined();
    await expect(uploads.status(session.id, 'acme/app', OWNER)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
  });

  it('stores an empty blob', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app', OWNER);
    const blob = await uploads.complete(session.id, 'acme/app', OWNER, sha256());
    expect(await store.stat(blob.storageKey)).toEqual({ size: 0 });
  });

  it('refuses a blob as soon as it crosses the size limit and frees its storage', async () => {
    const uploads = service({ maxBlobSize: 6 * MiB });
    const session = await uploads.start('acme/app', OWNER);
    await expect(uploads.append(session.id, 'acme/app', OWNER, {}, chunksOf(randomBytes(7 * MiB)))).rejects.toMatchObject({
      code: 'SIZE_INVALID',
      httpStatus: 413,
      message: expect.stringContaining(String(6 * MiB)),
    });
    await expect(uploads.status(session.id, 'acme/app', OWNER)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
  });

  it('expires a session older than the time limit', async () => {
    let clock = Date.now();
    const uploads = service({ timeLimitMs: 1000 }, () => clock);
    const session = await uploads.start('acme/app', OWNER);
    await uploads.append(session.id, 'acme/app', OWNER, { offset: 0 }, chunksOf(randomBytes(100)));
    clock += 1001;
    await expect(uploads.append(session.id, 'acme/app', OWNER, { offset: 100 }, chunksOf(randomBytes(100)))).rejects.toMatchObject({
      code: 'BLOB_UPLOAD_UNKNOWN',
      message: expect.stringContaining('timed out'),
    });
    expect(await sessions().get(session.id)).toBeUndefined();
    expect(await sessions().wasExpired(session.id)).toBe(true);
  });

  it('sweeps sessions past the time limit and frees their storage', async () => {
    let clock = Date.now();
    const uploads = service({ timeLimitMs: 1000 }, () => clock);
    const stale = await uploads.start('acme/app', OWNER);
    await uploads.append(stale.id, 'acme/app', OWNER, { offset: 0 }, chunksOf(randomBytes(100)));
    const tailKey = (await sessions().get(stale.id))!.tail!.key;
    expect(await store.stat(tailKey)).toEqual({ size: 100 });
    clock += 500;
    const fresh = await uploads.start('acme/app', OWNER);
    clock += 600; // stale is 1.1 s old, fresh 0.6 s
    expect(await uploads.sweepExpired()).toBeGreaterThanOrEqual(1);
    expect(await sessions().get(stale.id)).toBeUndefined();
    expect(await sessions().startedBefore(clock, 100)).not.toContain(stale.id);
    expect(await store.stat(tailKey)).toBeUndefined();
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
    await expect(uploads.append(session.id, 'acme/app', 'someone-else', {}, chunksOf(randomBytes(10)))).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
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

  it('refuses a chunk whose length differs from its Content-Range, keeping nothing of it', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app', OWNER);
    await expect(uploads.append(session.id, 'acme/app', OWNER, { offset: 0, length: 1000 }, chunksOf(randomBytes(2000)))).rejects.toMatchObject({ code: 'RANGE_INVALID', httpStatus: 416 });
    expect(await uploads.status(session.id, 'acme/app', OWNER)).toBe(0);
    expect(await uploads.append(session.id, 'acme/app', OWNER, { offset: 0, length: 1000 }, chunksOf(randomBytes(1000)))).toBe(1000);
  });

  it('ends an append at the session time limit even while no bytes arrive', async () => {
    const uploads = service({ timeLimitMs: 800 });
    const session = await uploads.start('acme/app', OWNER);
    async function* trickle(): AsyncIterable<Buffer> {
      yield randomBytes(1);
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      yield randomBytes(1);
    }
    const started = Date.now();
    await expect(uploads.append(session.id, 'acme/app', OWNER, {}, trickle())).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN', message: expect.stringContaining('timed out') });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await sessions().wasExpired(session.id)).toBe(true);
  });
});
