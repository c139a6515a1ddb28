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
      limits: { partSize: MIN_PART_SIZE, maxBlobSize: 64 * MiB, timeLimitMs: 60_000, ...limits },
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
    const session = await uploads.start('acme/app');
    expect(await uploads.append(session.id, 'acme/app', undefined, chunksOf(data))).toBe(data.length);
    const blob = await uploads.complete(session.id, 'acme/app', sha256(data));
    expect(blob.size).toBe(data.length);
    expect(sha256(await buffer(await store.read(blob.storageKey)))).toBe(sha256(data));
  });

  it('accepts chunks smaller than an S3 part and checks Content-Range offsets', async () => {
    const uploads = service();
    const chunks = [randomBytes(3 * MiB), randomBytes(3 * MiB), randomBytes(1000)];
    const session = await uploads.start('acme/app');
    let offset = 0;
    for (const chunk of chunks) {
      offset = await uploads.append(session.id, 'acme/app', offset, chunksOf(chunk));
    }
    await expect(uploads.append(session.id, 'acme/app', 5, chunksOf(randomBytes(10)))).rejects.toMatchObject({ code: 'RANGE_INVALID', httpStatus: 416 });
    expect(await uploads.status(session.id, 'acme/app')).toBe(offset);
    const blob = await uploads.complete(session.id, 'acme/app', sha256(...chunks));
    expect(sha256(await buffer(await store.read(blob.storageKey)))).toBe(sha256(...chunks));
  });

  it('resumes a session in a new process (no in-memory hash) and still verifies', async () => {
    const first = await service().start('acme/app');
    const part1 = randomBytes(2 * MiB);
    await service().append(first.id, 'acme/app', 0, chunksOf(part1));
    const part2 = randomBytes(4 * MiB);
    const restarted = service();
    await restarted.append(first.id, 'acme/app', part1.length, chunksOf(part2));
    const blob = await restarted.complete(first.id, 'acme/app', sha256(part1, part2));
    expect(blob.size).toBe(part1.length + part2.length);
  });

  it('refuses a wrong digest, deletes the bytes and forgets the session', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app');
    await uploads.append(session.id, 'acme/app', undefined, chunksOf(randomBytes(1000)));
    await expect(uploads.complete(session.id, 'acme/app', sha256(Buffer.from('other')))).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect(await store.stat(session.storageKey)).toBeUndefined();
    await expect(uploads.status(session.id, 'acme/app')).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
  });

  it('stores an empty blob', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app');
    const blob = await uploads.complete(session.id, 'acme/app', sha256());
    expect(await store.stat(blob.storageKey)).toEqual({ size: 0 });
  });

  it('refuses a blob as soon as it crosses the size limit and frees its storage', async () => {
    const uploads = service({ maxBlobSize: 6 * MiB });
    const session = await uploads.start('acme/app');
    await expect(uploads.append(session.id, 'acme/app', undefined, chunksOf(randomBytes(7 * MiB)))).rejects.toMatchObject({
      code: 'SIZE_INVALID',
      httpStatus: 413,
      message: expect.stringContaining(String(6 * MiB)),
    });
    await expect(uploads.status(session.id, 'acme/app')).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
  });

  it('expires a session older than the time limit', async () => {
    let clock = Date.now();
    const uploads = service({ timeLimitMs: 1000 }, () => clock);
    const session = await uploads.start('acme/app');
    await uploads.append(session.id, 'acme/app', 0, chunksOf(randomBytes(100)));
    clock += 1001;
    await expect(uploads.append(session.id, 'acme/app', 100, chunksOf(randomBytes(100)))).rejects.toMatchObject({
      code: 'BLOB_UPLOAD_UNKNOWN',
      message: expect.stringContaining('timed out'),
    });
    expect(await sessions().get(session.id)).toBeUndefined();
    expect(await sessions().wasExpired(session.id)).toBe(true);
  });

  it('sweeps sessions past the time limit and frees their storage', async () => {
    let clock = Date.now();
    const uploads = service({ timeLimitMs: 1000 }, () => clock);
    const stale = await uploads.start('acme/app');
    await uploads.append(stale.id, 'acme/app', 0, chunksOf(randomBytes(100)));
    const tailKey = (await sessions().get(stale.id))!.tail!.key;
    expect(await store.stat(tailKey)).toEqual({ size: 100 });
    clock += 500;
    const fresh = await uploads.start('acme/app');
    clock += 600; // stale is 1.1 s old, fresh 0.6 s
    expect(await uploads.sweepExpired()).toBeGreaterThanOrEqual(1);
    expect(await sessions().get(stale.id)).toBeUndefined();
    expect(await sessions().startedBefore(clock, 100)).not.toContain(stale.id);
    expect(await store.stat(tailKey)).toBeUndefined();
    expect(await uploads.status(fresh.id, 'acme/app')).toBe(0);
    await expect(uploads.status(stale.id, 'acme/app')).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN', message: expect.stringContaining('timed out') });
  });

  it('keeps sessions of one repository away from another', async () => {
    const uploads = service();
    const session = await uploads.start('acme/app');
    await expect(uploads.status(session.id, 'other/app')).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
  });
});
