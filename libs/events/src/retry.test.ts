import { describe, expect, it } from 'vitest';
import { backoffDelay, handleUntilDone, retryUntilStopped, StoppedError } from './retry';

describe('backoffDelay', () => {
  it('doubles from the first delay up to the cap', () => {
    expect([1, 2, 3, 4, 10].map((failures) => backoffDelay(failures, 100, 500))).toEqual([100, 200, 400, 500, 500]);
  });
});

describe('handleUntilDone', () => {
  it('retries until the handler succeeds, reporting each failure', async () => {
    let calls = 0;
    const failures: number[] = [];
    await handleUntilDone(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('not yet');
      },
      { signal: new AbortController().signal, initialMs: 1, onFailure: (_err, count) => failures.push(count) },
    );
    expect(calls).toBe(3);
    expect(failures).toEqual([1, 2]);
  });

  it('gives up with StoppedError once stopped, without waiting out the backoff', async () => {
    const stop = new AbortController();
    const started = Date.now();
    const handling = handleUntilDone(() => Promise.reject(new Error('always')), { signal: stop.signal, initialMs: 60_000, onFailure: () => undefined });
    setTimeout(() => stop.abort(), 20);
    await expect(handling).rejects.toBeInstanceOf(StoppedError);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('propagates a failure of betweenAttempts (a Kafka rebalance) instead of retrying further', async () => {
    let calls = 0;
    const handling = handleUntilDone(
      async () => {
        calls += 1;
        throw new Error('handler');
      },
      { signal: new AbortController().signal, initialMs: 1, onFailure: () => undefined, betweenAttempts: () => Promise.reject(new Error('rebalancing')) },
    );
    await expect(handling).rejects.toThrow('rebalancing');
    expect(calls).toBe(1);
  });
});

describe('retryUntilStopped', () => {
  it('returns the first success', async () => {
    let calls = 0;
    const value = await retryUntilStopped(
      async () => {
        calls += 1;
        if (calls === 1) throw new Error('down');
        return 'connected';
      },
      { signal: new AbortController().signal, initialMs: 1, onFailure: () => undefined },
    );
    expect(value).toBe('connected');
  });
});
