import { describe, expect, it } from 'vitest';
import { BatchedLookups } from './batched-lookups';

/**
 * A store of versioned keys whose calls the test finishes by hand: each call
 * records the keys it was given and the store's version when it began, and
 * answers "<key>@<version>".
 */
function manualStore() {
  let version = 0;
  const calls: Array<{ keys: string[]; startedAt: number; done: boolean; finish: (fail?: Error) => void }> = [];
  const load = (keys: string[]) =>
    new Promise<string[]>((resolve, reject) => {
      const call = {
        keys,
        startedAt: version,
        done: false,
        finish: (fail?: Error) => {
          call.done = true;
          if (fail) reject(fail);
          else resolve(keys.map((key) => `${key}@${call.startedAt}`));
        },
      };
      calls.push(call);
    });
  return {
    calls,
    load,
    /** Finishes every call started and not finished yet; returns how many. */
    finishRunning: () => {
      const running = calls.filter((call) => !call.done);
      for (const call of running) call.finish();
      return running.length;
    },
    write: () => ++version,
    get version() {
      return version;
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const versionOf = (answer: string) => Number(answer.split('@')[1]);

function batched(store: ReturnType<typeof manualStore>, maxInFlight = 1, maxBatch = 64) {
  return new BatchedLookups<string, string>({ load: store.load, idOf: (key) => key, maxInFlight, maxBatch });
}

describe('BatchedLookups', () => {
  it('callers one after the other each get a call of their own', async () => {
    const store = manualStore();
    const lookups = batched(store);
    for (let i = 0; i < 3; i++) {
      const answer = lookups.lookup('k');
      await tick();
      store.calls.at(-1)!.finish();
      expect(await answer).toBe('k@0');
    }
    expect(store.calls).toHaveLength(3);
    await tick();
    expect(lookups.pending).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('callers arriving during a call share one batch that starts after it, never the call already running', async () => {
    const store = manualStore();
    const lookups = batched(store);
    const first = lookups.lookup('a');
    await tick();
    // A write completes, then 50 callers ask for 5 keys (the first one too): none may get the call that began before the write.
    store.write();
    const later = Array.from({ length: 50 }, (_, i) => lookups.lookup('abcde'[i % 5]!));
    await tick();
    expect(store.calls).toHaveLength(1);
    store.calls[0]!.finish();
    expect(await first).toBe('a@0');
    await tick();
    expect(store.calls).toHaveLength(2);
    expect(store.calls[1]!.keys).toEqual(['a', 'b', 'c', 'd', 'e']);
    store.calls[1]!.finish();
    const answers = await Promise.all(later);
    answers.forEach((answer, i) => expect(answer).toBe(`${'abcde'[i % 5]}@1`));
    await tick();
    expect(lookups.pending).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('runs up to maxInFlight calls at once, then batches; every answer is no older than its caller', async () => {
    const store = manualStore();
    const lookups = batched(store, 2, 8);
    const answers: Array<{ askedAt: number; answer: Promise<string> }> = [];
    for (let round = 0; round < 20; round++) {
      // Callers arrive one by one while calls run, each after a write.
      for (let i = 0; i < 10; i++) {
        store.write();
        answers.push({ askedAt: store.version, answer: lookups.lookup(`k${(round * 7 + i) % 13}`) });
        await tick();
        expect(store.calls.filter((call) => !call.done).length).toBeLessThanOrEqual(2);
      }
      store.finishRunning();
      await tick();
    }
    while (store.finishRunning() > 0) await tick();
    for (const { askedAt, answer } of answers) expect(versionOf(await answer)).toBeGreaterThanOrEqual(askedAt);
    // 200 callers, far fewer calls, none over the batch size.
    expect(store.calls.length).toBeLessThan(100);
    expect(Math.max(...store.calls.map((call) => call.keys.length))).toBeLessThanOrEqual(8);
    await tick();
    expect(lookups.pending).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('splits a crowd of distinct keys into batches of at most maxBatch, each sent when a call settles', async () => {
    const store = manualStore();
    const lookups = batched(store, 1, 4);
    const answers = Array.from({ length: 11 }, (_, i) => lookups.lookup(`k${i}`));
    await tick();
    expect(store.calls.map((call) => call.keys.length)).toEqual([1]);
    expect(lookups.pending).toEqual({ inFlight: 1, waiting: 3 });
    while (store.finishRunning() > 0) await tick();
    expect(store.calls.map((call) => call.keys.length)).toEqual([1, 4, 4, 2]);
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 11 }, (_, i) => `k${i}@0`));
  });

  it('a failed call fails only its own callers; the next batch starts afresh', async () => {
    const store = manualStore();
    const lookups = batched(store);
    const first = lookups.lookup('k');
    await tick();
    const second = lookups.lookup('k');
    store.calls[0]!.finish(new Error('unavailable'));
    await expect(first).rejects.toThrow('unavailable');
    await tick();
    store.calls[1]!.finish();
    await expect(second).resolves.toBe('k@0');
    const thrown = new BatchedLookups<string, string>({
      load: () => {
        throw new Error('synchronous');
      },
      idOf: (key) => key,
      maxInFlight: 1,
      maxBatch: 4,
    });
    await expect(thrown.lookup('k')).rejects.toThrow('synchronous');
    await tick();
    expect(thrown.pending).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('fails every caller of a call that answers the wrong number of keys', async () => {
    const lookups = new BatchedLookups<string, string>({ load: async () => ['only one'], idOf: (key) => key, maxInFlight: 1, maxBatch: 4 });
    const store = lookups.lookup('a');
    const waiting = [lookups.lookup('b'), lookups.lookup('c')];
    await expect(store).resolves.toBe('only one');
    for (const answer of waiting) await expect(answer).rejects.toThrow('answered 1 of 2 keys');
  });
});
