import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsSessionStore } from './fs-session-store';
import { sessionStoreContract } from './session-store-contract';
import type { UploadSession } from './sessions';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'ocireg-sessions-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

sessionStoreContract('filesystem', (ttlSeconds) => new FsSessionStore(path.join(root, randomUUID()), ttlSeconds));

describe('FsSessionStore', () => {
  const session = (): UploadSession => ({ id: randomUUID(), repository: 'acme/app', owner: 'user-1', state: { backend: 'fs', version: 1, key: 'uploads/x', size: 3 }, startedAt: 1 });

  it('keeps sessions in JSON files that a new instance (a restart) reads', async () => {
    const dir = path.join(root, 'restart');
    const s = session();
    await new FsSessionStore(dir, 60).save(s);
    await new FsSessionStore(dir, 60).markExpired('gone');
    expect(JSON.parse(await readFile(path.join(dir, 'sessions', `${s.id}.json`), 'utf8')).session).toEqual(s);
    const restarted = new FsSessionStore(dir, 60);
    expect(await restarted.get(s.id)).toEqual(s);
    expect(await restarted.wasExpired('gone')).toBe(true);
    expect(await readdir(path.join(dir, 'tmp'))).toEqual([]);
  });

  it('deletes expired-marks past their time when the sweeper lists sessions', async () => {
    let clock = 1_000_000;
    const dir = path.join(root, 'marks');
    const store = new FsSessionStore(dir, 10, () => clock);
    await store.markExpired('old');
    clock += 5_000;
    await store.markExpired('recent');
    clock += 6_000; // old is 11 s old, recent 6 s
    await store.startedBefore(clock, 10);
    expect(await readdir(path.join(dir, 'expired'))).toEqual(['recent.json']);
  });

  it('refuses to save a session whose id could leave the directory', async () => {
    const store = new FsSessionStore(path.join(root, 'bad'), 60);
    await expect(store.save({ ...session(), id: '../escape' })).rejects.toThrow(/invalid upload session id/);
  });
});
