/**
 * Polls `probe` until `done(value)` or the time is up, and returns the last
 * value either way, so the test's own expect shows what was seen.
 */
export async function pollUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!done(last) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    last = await probe();
  }
  return last;
}

/** Polls `check` until it returns a value (not undefined); throws when the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 20): Promise<T> {
  const value = await pollUntil(check, (seen) => seen !== undefined, timeoutMs, intervalMs);
  if (value === undefined) throw new Error(`condition not met within ${timeoutMs} ms`);
  return value;
}

/** Polls until `probe` returns `expected` (revocations and access changes reach every gateway in well under a second; a loaded 2-core CI machine gets some slack). */
export function pollUntilEquals<T>(probe: () => Promise<T>, expected: T, timeoutMs = 2000): Promise<T> {
  return pollUntil(probe, (value) => value === expected, timeoutMs);
}
