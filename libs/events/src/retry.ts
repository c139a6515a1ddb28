/** Exponential backoff: initialMs, doubled per failure, capped at maxMs. */
export function backoffDelay(failures: number, initialMs = 200, maxMs = 5_000): number {
  return Math.min(initialMs * 2 ** Math.max(failures - 1, 0), maxMs);
}

/** Sleeps, but wakes early (without throwing) when the signal aborts, so stopping is never delayed by a backoff. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class StoppedError extends Error {
  constructor() {
    super('stopped while retrying');
    this.name = 'StoppedError';
  }
}

/**
 * Runs attempt until it resolves, waiting with backoff between failures and
 * calling onFailure for each (to log). Rejects with StoppedError once signal aborts.
 */
export async function retryUntilStopped<T>(
  attempt: () => Promise<T>,
  options: { signal: AbortSignal; onFailure: (err: unknown, failures: number, retryInMs: number) => void; initialMs?: number; maxMs?: number },
): Promise<T> {
  for (let failures = 0; ; ) {
    if (options.signal.aborted) throw new StoppedError();
    try {
      return await attempt();
    } catch (err) {
      if (options.signal.aborted) throw new StoppedError();
      failures += 1;
      const delay = backoffDelay(failures, options.initialMs, options.maxMs);
      options.onFailure(err, failures, delay);
      await sleep(delay, options.signal);
    }
  }
}

/**
 * Calls handle until it resolves: a failing message is retried with backoff, never
 * skipped, since skipping would lose an event. betweenAttempts runs after each wait
 * (Kafka heartbeats there). Rejects with StoppedError when signal aborts first.
 */
export async function handleUntilDone(
  handle: () => Promise<void>,
  options: { signal: AbortSignal; onFailure: (err: unknown, failures: number, retryInMs: number) => void; initialMs?: number; maxMs?: number; betweenAttempts?: () => Promise<void> },
): Promise<void> {
  for (let failures = 0; ; ) {
    try {
      return await handle();
    } catch (err) {
      if (options.signal.aborted) throw new StoppedError();
      failures += 1;
      const delay = backoffDelay(failures, options.initialMs, options.maxMs);
      options.onFailure(err, failures, delay);
      await sleep(delay, options.signal);
      if (options.signal.aborted) throw new StoppedError();
      await options.betweenAttempts?.();
    }
  }
}
