import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { UploadState } from '@ocireg/storage';
import type { SessionStore, UploadSession } from './sessions';

function session(startedAt: number, changes: Partial<UploadSession> = {}): UploadSession {
  const id = randomUUID();
  return { id, repository: 'acme/app', owner: 'user-1', state: { backend: 'fs', version: 1, key: `uploads/${id}`, size: 0 }, startedAt, ...changes };
}

/**
 * The behaviour every SessionStore shares; each backend's test calls this.
 * `makeStore` returns a store with its own, empty namespace.
 */
export function sessionStoreContract(name: string, makeStore: (ttlSeconds: number) => SessionStore | Promise<SessionStore>): void {
  describe(`SessionStore contract: ${name}`, () => {
    it('saves, replaces, gets and deletes a session', async () => {
      const store = await makeStore(60);
      const s = session(1000);
      expect(await store.get(s.id)).toBeUndefined();
      await store.save(s);
      expect(await store.get(s.id)).toEqual(s);
      // A backend's own fields, kept as they are (the state is opaque to sessions).
      const grown: UploadSession = { ...s, state: { backend: 's3', version: 1, key: `blobs/${s.id}`, multipartId: 'mp', size: 12, parts: [{ partNumber: 1, etag: 'abc' }], tail: { key: `uploads/${s.id}/tail-12`, size: 2 } } as UploadState };
      await store.save(grown);
      expect(await store.get(s.id)).toEqual(grown);
      await store.delete(s.id);
      expect(await store.get(s.id)).toBeUndefined();
      await store.delete(s.id); // idempotent
    });

    it('lists sessions started strictly before a time, oldest first, up to a limit', async () => {
      const store = await makeStore(60);
      const [old, middle, young] = [session(1000), session(2000), session(3000)];
      for (const s of [young, old, middle]) await store.save(s);
      expect(await store.startedBefore(3000, 10)).toEqual([old.id, middle.id]);
      expect(await store.startedBefore(5000, 2)).toEqual([old.id, middle.id]);
      expect(await store.startedBefore(1000, 10)).toEqual([]);
      await store.delete(old.id);
      expect(await store.startedBefore(5000, 10)).toEqual([middle.id, young.id]);
    });

    it('keeps the start time a session was first saved with', async () => {
      const store = await makeStore(60);
      const s = session(5000);
      await store.save(s);
      await store.save({ ...s, startedAt: 10 });
      expect(await store.startedBefore(100, 10)).toEqual([]);
      expect(await store.startedBefore(5001, 10)).toEqual([s.id]);
    });

    it('remembers that a session timed out, apart from the session itself', async () => {
      const store = await makeStore(60);
      const s = session(1000);
      await store.save(s);
      expect(await store.wasExpired(s.id)).toBe(false);
      await store.markExpired(s.id);
      await store.delete(s.id);
      expect(await store.wasExpired(s.id)).toBe(true);
      expect(await store.wasExpired(randomUUID())).toBe(false);
    });

    it('forgets sessions and expired-marks after the TTL but still lists the session for the sweeper', async () => {
      const store = await makeStore(1);
      const s = session(1000);
      const gone = randomUUID();
      await store.save(s);
      await store.markExpired(gone);
      expect(await store.get(s.id)).toEqual(s);
      expect(await store.wasExpired(gone)).toBe(true);
      await sleep(1300);
      expect(await store.get(s.id)).toBeUndefined();
      expect(await store.wasExpired(gone)).toBe(false);
      expect(await store.startedBefore(2000, 10)).toEqual([s.id]);
      await store.delete(s.id);
      expect(await store.startedBefore(2000, 10)).toEqual([]);
    });

    it('counts the open sessions of an owner that started after a time, until they are deleted', async () => {
      const store = await makeStore(60);
      const owner = `owner-${randomUUID()}`;
      const [old, recent, newest] = [session(1000, { owner }), session(5000, { owner }), session(6000, { owner })];
      for (const s of [old, recent, newest, session(7000, { owner: `${owner}-other` })]) await store.save(s);
      expect(await store.countOpen(owner, 0)).toBe(3);
      expect(await store.countOpen(owner, 2000)).toBe(2);
      await store.delete(recent.id, owner);
      expect(await store.countOpen(owner, 2000)).toBe(1);
      expect(await store.countOpen(`${owner}-nobody`, 0)).toBe(0);
    });

    it('gives the write lease to one holder at a time, until it is released or expires', async () => {
      const store = await makeStore(60);
      const s = session(1000);
      await store.save(s);
      expect(await store.acquireLease(s.id, 'first', 60_000)).toEqual({ acquired: true });
      expect(await store.acquireLease(s.id, 'second', 60_000)).toMatchObject({ acquired: false });
      expect(await store.holdsLease(s.id, 'first')).toBe(true);
      expect(await store.holdsLease(s.id, 'second')).toBe(false);
      await store.releaseLease(s.id, 'second'); // not the holder: nothing happens
      expect(await store.holdsLease(s.id, 'first')).toBe(true);
      await store.releaseLease(s.id, 'first');
      expect(await store.acquireLease(s.id, 'second', 300)).toEqual({ acquired: true });
      await sleep(400);
      expect(await store.holdsLease(s.id, 'second')).toBe(false);
      expect(await store.acquireLease(s.id, 'third', 60_000)).toEqual({ acquired: true });
      await store.delete(s.id, s.owner);
      expect(await store.holdsLease(s.id, 'third')).toBe(false);
    });

    it('says how long a held lease still runs', async () => {
      const store = await makeStore(60);
      const s = session(1000);
      await store.save(s);
      await store.acquireLease(s.id, 'first', 5000);
      await sleep(200);
      const refused = await store.acquireLease(s.id, 'second', 5000);
      if (refused.acquired) throw new Error('the lease was taken twice');
      expect(refused.heldForMs).toBeGreaterThan(3000);
      expect(refused.heldForMs).toBeLessThanOrEqual(4800);
    });

    it('renews the lease only for its holder: a renewed lease outlives its first term, one not renewed lapses and another writer takes it over', async () => {
      const store = await makeStore(60);
      const s = session(1000);
      await store.save(s);
      await store.acquireLease(s.id, 'writer', 1000);
      expect(await store.renewLease(s.id, 'intruder', 60_000)).toBe(false);
      await sleep(600);
      expect(await store.renewLease(s.id, 'writer', 1000)).toBe(true);
      await sleep(600); // 1.2 s after it was taken: alive only because it was renewed
      expect(await store.holdsLease(s.id, 'writer')).toBe(true);
      expect(await store.acquireLease(s.id, 'next', 60_000)).toMatchObject({ acquired: false });
      await sleep(700); // not renewed again: lapsed
      expect(await store.holdsLease(s.id, 'writer')).toBe(false);
      expect(await store.acquireLease(s.id, 'next', 60_000)).toEqual({ acquired: true });
      // The writer that lost it can neither renew nor release the new holder's lease.
      expect(await store.renewLease(s.id, 'writer', 60_000)).toBe(false);
      await store.releaseLease(s.id, 'writer');
      expect(await store.holdsLease(s.id, 'next')).toBe(true);
      expect(await store.holdsLease(s.id, 'writer')).toBe(false);
    });

    it('gives the lease to exactly one of many writers asking at once, and renews nothing after a release', async () => {
      const store = await makeStore(60);
      const s = session(1000);
      await store.save(s);
      const attempts = await Promise.all(Array.from({ length: 8 }, (_, i) => store.acquireLease(s.id, `writer-${i}`, 60_000)));
      expect(attempts.filter((attempt) => attempt.acquired)).toHaveLength(1);
      const holder = `writer-${attempts.findIndex((attempt) => attempt.acquired)}`;
      const holders = await Promise.all(Array.from({ length: 8 }, (_, i) => store.holdsLease(s.id, `writer-${i}`)));
      expect(holders.filter(Boolean)).toHaveLength(1);
      await store.releaseLease(s.id, holder);
      expect(await store.renewLease(s.id, holder, 60_000)).toBe(false);
      expect(await store.acquireLease(s.id, 'after', 60_000)).toEqual({ acquired: true });
    });

    it('treats ids that are not ids as unknown', async () => {
      const store = await makeStore(60);
      for (const id of ['../../etc/passwd', 'a/b', '', '*']) {
        expect(await store.get(id)).toBeUndefined();
        expect(await store.wasExpired(id)).toBe(false);
        await store.delete(id);
      }
    });
  });
}
