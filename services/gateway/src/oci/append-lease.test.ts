import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppendLease, type AppendLeaseTerms } from './append-lease';

const LEASE_MS = 6000;

/** A blob-upload whose answers to renewals the test chooses; it records when it was asked and with what deadline. */
function blobUpload(answer: (call: number) => Promise<number | undefined>) {
  const calls: Array<{ at: number; timeoutMs: number }> = [];
  const renew = (timeoutMs: number) => {
    calls.push({ at: Date.now(), timeoutMs });
    return answer(calls.length);
  };
  return { calls, renew };
}

function lease(renew: AppendLeaseTerms['renew'], terms: Partial<AppendLeaseTerms> = {}): AppendLease {
  return new AppendLease({ uploadId: 'u1', askedAt: Date.now(), leaseMs: LEASE_MS, deadlineMs: Date.now() + 600_000, renew, ...terms });
}

describe('AppendLease', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('renews every third of the term while blob-upload confirms, for as long as the append runs, and stops when told', async () => {
    const upload = blobUpload(async () => LEASE_MS);
    const kept = lease(upload.renew);
    await vi.advanceTimersByTimeAsync(10 * LEASE_MS);
    expect(kept.signal.aborted).toBe(false);
    expect(upload.calls).toHaveLength(30);
    expect(upload.calls[0]).toEqual({ at: 1_000_000 + LEASE_MS / 3, timeoutMs: LEASE_MS * 0.75 - LEASE_MS / 3 });
    kept.stop();
    await vi.advanceTimersByTimeAsync(10 * LEASE_MS);
    expect(upload.calls).toHaveLength(30);
  });

  it('keeps retrying a failed renewal, and stops the append a quarter of the term before the lease could lapse, with a retryable 503', async () => {
    const upload = blobUpload(async () => {
      throw new Error('blob-upload is gone');
    });
    const kept = lease(upload.renew);
    await vi.advanceTimersByTimeAsync(LEASE_MS * 0.75 - 1);
    expect(kept.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(kept.signal.aborted).toBe(true);
    expect(kept.signal.reason).toMatchObject({ code: 'UNAVAILABLE', httpStatus: 503, detail: { retryAfterSeconds: 1 }, message: expect.stringContaining('could not be renewed') });
    // Tried again every 250 ms after the first attempt, then no more.
    expect(upload.calls.length).toBeGreaterThanOrEqual(9);
    const calls = upload.calls.length;
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    expect(upload.calls).toHaveLength(calls);
  });

  it('stops the append on time while a renewal hangs', async () => {
    const kept = lease(() => new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(LEASE_MS * 0.75);
    expect(kept.signal.aborted).toBe(true);
  });

  it('stops the append at once when blob-upload says the lease is not held any more', async () => {
    const upload = blobUpload(async (call) => (call < 3 ? LEASE_MS : undefined));
    const kept = lease(upload.renew);
    await vi.advanceTimersByTimeAsync(LEASE_MS - 1); // the third renewal is at a full term
    expect(kept.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(kept.signal.aborted).toBe(true);
    expect(kept.signal.reason).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('not held any more') });
  });

  it('survives renewals that fail for a while, as long as one succeeds before the margin', async () => {
    const upload = blobUpload(async (call) => {
      if (call <= 4) throw new Error('restarting');
      return LEASE_MS;
    });
    const kept = lease(upload.renew);
    await vi.advanceTimersByTimeAsync(5 * LEASE_MS);
    expect(kept.signal.aborted).toBe(false);
  });

  it('counts the term from when it was asked for, not from when the answer came', async () => {
    const upload = blobUpload(async () => {
      throw new Error('gone');
    });
    const kept = lease(upload.renew, { askedAt: Date.now() - 2000 });
    await vi.advanceTimersByTimeAsync(LEASE_MS * 0.75 - 2000);
    expect(kept.signal.aborted).toBe(true);
  });

  it('neither renews nor stops a lease that runs to the session\'s time limit (the limit ends the append)', async () => {
    const upload = blobUpload(async () => LEASE_MS);
    const kept = lease(upload.renew, { leaseMs: 2000, deadlineMs: Date.now() + 2000 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(upload.calls).toEqual([]);
    expect(kept.signal.aborted).toBe(false);
  });
});
