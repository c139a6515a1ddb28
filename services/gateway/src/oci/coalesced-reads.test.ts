import { describe, expect, it } from 'vitest';
import { CoalescedReads } from './coalesced-reads';

/** A store whose reads the test finishes by hand; each read records the version it started at. */
function manualStore() {
  let version = 0;
  const reads: Array<{ startedAt: number; done: boolean; finish: (fail?: Error) => void }> = [];
  const fetch = () =>
    new Promise<number>((resolve, reject) => {
      const read = {
        startedAt: version,
        done: false,
        finish: (fail?: Error) => {
          read.done = true;
          if (fail) reject(fail);
          else resolve(read.startedAt);
        },
      };
      reads.push(read);
    });
  return {
    reads,
    fetch,
    /** Finishes every read started and not finished yet; returns how many. */
    finishRunning: () => {
      const running = reads.filter((read) => !read.done);
      for (const read of running) read.finish();
      return running.length;
    },
    write: () => ++version,
    get version() {
      return version;
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('CoalescedReads', () => {
  it('callers one after the other each get a read of their own', async () => {
    const coalesced = new CoalescedReads<number>();
    const store = manualStore();
    for (let i = 0; i < 3; i++) {
      const answer = coalesced.read('k', store.fetch);
      await tick();
      store.reads.at(-1)!.finish();
      await answer;
    }
    expect(store.reads).toHaveLength(3);
    expect(coalesced.pending).toBe(0);
  });

  it('callers arriving during a read share one follow-up read that starts after it, never the read already running', async () => {
    const coalesced = new CoalescedReads<number>();
    const store = manualStore();
    const first = coalesced.read('k', store.fetch);
    await tick();
    // A write completes, then 50 callers ask: none may get the read that began before the write.
    store.write();
    const later = Array.from({ length: 50 }, () => coalesced.read('k', store.fetch));
    await tick();
    expect(store.reads).toHaveLength(1);
    store.reads[0]!.finish();
    expect(await first).toBe(0);
    await tick();
    expect(store.reads).toHaveLength(2);
    expect(store.reads[1]!.startedAt).toBe(1);
    store.reads[1]!.finish();
    expect(new Set(await Promise.all(later))).toEqual(new Set([1]));
    expect(coalesced.pending).toBe(0);
  });

  it('keeps at most two reads of a key pending however many callers come, each answer no older than its caller', async () => {
    const coalesced = new CoalescedReads<number>();
    const store = manualStore();
    const answers: Array<{ askedAt: number; answer: Promise<number> }> = [];
    for (let round = 0; round < 20; round++) {
      // Callers arrive one by one while a read runs, each after a write.
      for (let i = 0; i < 10; i++) {
        store.write();
        answers.push({ askedAt: store.version, answer: coalesced.read('k', store.fetch) });
        await tick();
      }
      expect(store.finishRunning()).toBeLessThanOrEqual(1);
      await tick();
    }
    while (store.finishRunning() > 0) await tick();
    for (const { askedAt, answer } of answers) expect(await answer).toBeGreaterThanOrEqual(askedAt);
    // 200 callers, far fewer reads: one per round and the follow-ups.
    expect(store.reads.length).toBeLessThanOrEqual(41);
    expect(coalesced.pending).toBe(0);
  });

  it('a failed read fails only its own callers; the next read starts afresh', async () => {
    const coalesced = new CoalescedReads<number>();
    const store = manualStore();
    const first = coalesced.read('k', store.fetch);
    await tick();
    const second = coalesced.read('k', store.fetch);
    store.reads[0]!.finish(new Error('unavailable'));
    await expect(first).rejects.toThrow('unavailable');
    await tick();
    store.reads[1]!.finish();
    await expect(second).resolves.toBe(0);
    const thrown = coalesced.read('k', () => {
      throw new Error('synchronous');
    });
    await expect(thrown).rejects.toThrow('synchronous');
    expect(coalesced.pending).toBe(0);
  });

  it('keys are independent', async () => {
    const coalesced = new CoalescedReads<number>();
    const store = manualStore();
    const a = coalesced.read('a', store.fetch);
    const b = coalesced.read('b', store.fetch);
    await tick();
    expect(store.reads).toHaveLength(2);
    for (const read of store.reads) read.finish();
    await Promise.all([a, b]);
    expect(coalesced.pending).toBe(0);
  });
});
