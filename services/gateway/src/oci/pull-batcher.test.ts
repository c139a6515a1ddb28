import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { PullBatcher, type PullBatcherSettings, type PullRecord } from './pull-batcher';

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;

/** A batcher whose clock the test sets and whose sends it sees (and may fail). */
function batcher(overrides: Partial<PullBatcherSettings> = {}) {
  let clock = 1_000;
  const sent: PullRecord[][] = [];
  const counts = { flushed: 0, dropped: 0, failed: 0 };
  const warnings: string[] = [];
  const logger = createLogger({ service: 'test', level: 'silent' });
  vi.spyOn(logger, 'warn').mockImplementation(((_: unknown, message: string) => void warnings.push(message)) as never);
  const pulls = new PullBatcher({
    send: async (records) => void sent.push(records.map((r) => ({ ...r }))),
    flushMs: 60_000,
    logger,
    now: () => clock,
    counted: (what, n) => (counts[what] += n),
    ...overrides,
  });
  return { pulls, sent, counts, warnings, tick: (ms: number) => (clock += ms) };
}

describe('PullBatcher', () => {
  const open: PullBatcher[] = [];
  afterEach(async () => {
    for (const pulls of open.splice(0)) await pulls.close();
  });

  it('coalesces pulls of the same tag or digest of a manifest into one record with the latest time', async () => {
    const { pulls, sent, tick } = batcher();
    open.push(pulls);
    pulls.record('acme/app', 'v1', DIGEST_A);
    tick(5);
    pulls.record('acme/app', 'v1', DIGEST_A);
    pulls.record('acme/app', '', DIGEST_A); // by digest: a record of its own
    tick(5);
    pulls.record('acme/app', '', DIGEST_A);
    pulls.record('acme/app', 'v1', DIGEST_B); // the tag moved: both manifests were pulled
    pulls.record('acme/other', 'v1', DIGEST_A);
    expect(pulls.size).toBe(4);
    await pulls.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toEqual([
      { repository: 'acme/app', tag: 'v1', digest: DIGEST_A, at: 1005 },
      { repository: 'acme/app', tag: '', digest: DIGEST_A, at: 1010 },
      { repository: 'acme/app', tag: 'v1', digest: DIGEST_B, at: 1010 },
      { repository: 'acme/other', tag: 'v1', digest: DIGEST_A, at: 1010 },
    ]);
    expect(pulls.size).toBe(0);
    await pulls.flush(); // nothing held: no call
    expect(sent).toHaveLength(1);
  });

  it('holds at most maxPending records: full, it flushes at once and drops (and counts) new ones until the flush took the batch', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const sent: PullRecord[][] = [];
    const { pulls, counts, warnings } = batcher({ maxPending: 3, send: async (records) => void (sent.push(records), await blocked) });
    open.push(pulls);
    for (const tag of ['a', 'b', 'c']) pulls.record('acme/app', tag, DIGEST_A);
    // Full: the flush started without waiting for the timer, and took the batch.
    expect(sent).toHaveLength(1);
    expect(pulls.size).toBe(0);
    for (const tag of ['d', 'e', 'f']) pulls.record('acme/app', tag, DIGEST_A);
    pulls.record('acme/app', 'g', DIGEST_A); // full again while the first call hangs: dropped
    pulls.record('acme/app', 'd', DIGEST_A); // held already: its time moves, nothing is dropped
    expect(pulls.size).toBe(3);
    expect(counts.dropped).toBe(1);
    release();
    await pulls.flush();
    expect(sent.map((call) => call.map((r) => r.tag))).toEqual([['a', 'b', 'c'], ['d', 'e', 'f']]);
    expect(counts).toMatchObject({ flushed: 6, dropped: 1 });
    expect(warnings).toContain('pulls dropped from the last-pulled batch: it was full');
  });

  it('sends calls of at most maxPerCall records', async () => {
    const { pulls, sent } = batcher({ maxPerCall: 2 });
    open.push(pulls);
    for (const tag of ['a', 'b', 'c', 'd', 'e']) pulls.record('acme/app', tag, DIGEST_A);
    await pulls.flush();
    expect(sent.map((call) => call.length)).toEqual([2, 2, 1]);
  });

  it('flushes what it holds on close, and records nothing after', async () => {
    const { pulls, sent } = batcher();
    pulls.record('acme/app', 'v1', DIGEST_A);
    await pulls.close();
    expect(sent).toEqual([[{ repository: 'acme/app', tag: 'v1', digest: DIGEST_A, at: 1000 }]]);
    pulls.record('acme/app', 'v2', DIGEST_A);
    expect(pulls.size).toBe(0);
    await pulls.flush();
    expect(sent).toHaveLength(1);
  });

  it('on close, waits for a running flush and then sends what arrived meanwhile', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const sent: string[][] = [];
    const { pulls } = batcher({ send: async (records) => void (sent.push(records.map((r) => r.tag)), await blocked) });
    pulls.record('acme/app', 'a', DIGEST_A);
    const first = pulls.flush();
    pulls.record('acme/app', 'b', DIGEST_A);
    const closed = pulls.close();
    release();
    await Promise.all([first, closed]);
    expect(sent).toEqual([['a'], ['b']]);
  });

  it('gives up waiting on close after its timeout, when metadata does not answer', async () => {
    const { pulls, warnings } = batcher({ send: () => new Promise<void>(() => undefined) });
    pulls.record('acme/app', 'v1', DIGEST_A);
    const started = Date.now();
    await pulls.close(50);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(warnings).toContain('last-pulled times still unsent at shutdown are dropped');
  });

  it('flushes by itself every flushMs', async () => {
    vi.useFakeTimers();
    try {
      const { pulls, sent } = batcher({ flushMs: 30_000 });
      open.push(pulls);
      pulls.record('acme/app', 'v1', DIGEST_A);
      await vi.advanceTimersByTimeAsync(29_000);
      expect(sent).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(sent).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('retries a failed call once, then drops its records and logs: nothing throws into the pull path', async () => {
    let calls = 0;
    const { pulls, counts, warnings } = batcher({
      send: async () => {
        calls += 1;
        throw new Error('metadata is down');
      },
    });
    open.push(pulls);
    pulls.record('acme/app', 'v1', DIGEST_A);
    await expect(pulls.flush()).resolves.toBeUndefined();
    expect(calls).toBe(2);
    expect(counts.failed).toBe(1);
    expect(warnings).toContain('could not record last-pulled times; these pulls are dropped');
    expect(pulls.size).toBe(0);
    // A send that throws synchronously is contained too.
    const sync = batcher({
      send: () => {
        throw new Error('no channel');
      },
    });
    open.push(sync.pulls);
    sync.pulls.record('acme/app', 'v1', DIGEST_A);
    await expect(sync.pulls.flush()).resolves.toBeUndefined();
    expect(sync.counts.failed).toBe(1);
  });

  it('succeeds when the retry does', async () => {
    let calls = 0;
    const { pulls, counts } = batcher({
      send: async () => {
        calls += 1;
        if (calls === 1) throw new Error('a blip');
      },
    });
    open.push(pulls);
    pulls.record('acme/app', 'v1', DIGEST_A);
    await pulls.flush();
    expect(counts).toMatchObject({ flushed: 1, failed: 0 });
  });

  it('record never throws, even when its clock does', () => {
    const { pulls } = batcher({
      now: () => {
        throw new Error('broken clock');
      },
    });
    open.push(pulls);
    expect(() => pulls.record('acme/app', 'v1', DIGEST_A)).not.toThrow();
  });
});
