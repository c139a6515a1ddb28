import { describe, expect, it } from 'vitest';
import { MemoryLoginLimiter } from './login-limiter';

/** A clock the test moves by hand. */
function clock(start = 1_700_000_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

describe('MemoryLoginLimiter', () => {
  it('throttles one account from one address after its limit, but not the same account from another address', async () => {
    const limiter = new MemoryLoginLimiter({ perAccountAndIp: 3, perIp: 100 });
    for (let i = 0; i < 3; i++) expect(await limiter.failed('victim@example.com', '203.0.113.9')).toBe(false);
    expect(await limiter.failed('Victim@Example.com', '203.0.113.9')).toBe(true);
    // The real user, elsewhere: a stranger's guesses do not lock them out.
    expect(await limiter.failed('victim@example.com', '198.51.100.1')).toBe(false);
    expect(await limiter.failed('other@example.com', '203.0.113.9')).toBe(false);
  });

  it('throttles an address after its limit, whatever account it tries', async () => {
    const limiter = new MemoryLoginLimiter({ perAccountAndIp: 100, perIp: 4 });
    for (let i = 0; i < 4; i++) expect(await limiter.failed(`guess${i}@example.com`, '192.0.2.7')).toBe(false);
    expect(await limiter.failed('fresh@example.com', '192.0.2.7')).toBe(true);
    expect(await limiter.failed('fresh@example.com', '192.0.2.8')).toBe(false);
  });

  it('is a window from the first failure, not a permanent ban, and later failures do not extend it', async () => {
    const { time, now } = clock();
    const limiter = new MemoryLoginLimiter({ perAccountAndIp: 1, perIp: 100 }, now);
    expect(await limiter.failed('slow@example.com', '10.2.2.2')).toBe(false);
    time.now += 200_000;
    expect(await limiter.failed('slow@example.com', '10.2.2.2')).toBe(true);
    time.now += 99_000; // 299 s after the first failure: still throttled
    expect(await limiter.failed('slow@example.com', '10.2.2.2')).toBe(true);
    time.now += 1_000; // 300 s: the window has ended, a new one starts at one
    expect(await limiter.failed('slow@example.com', '10.2.2.2')).toBe(false);
  });

  it('forgets ended windows, so many addresses do not grow it for ever', async () => {
    const { time, now } = clock();
    const limiter = new MemoryLoginLimiter({ perAccountAndIp: 10, perIp: 10 }, now);
    for (let i = 0; i < 50; i++) await limiter.failed(`a${i}@example.com`, `10.3.0.${i}`);
    expect(limiter.size).toBe(100);
    time.now += 301_000;
    await limiter.failed('late@example.com', '10.3.1.1');
    expect(limiter.size).toBe(2);
  });

  it('says an account+address is blocked once over its limit, without counting, and only there', async () => {
    const limiter = new MemoryLoginLimiter({ perAccountAndIp: 2, perIp: 100 });
    for (let i = 0; i < 2; i++) await limiter.failed('user@example.com', '203.0.113.1');
    expect(await limiter.blocked('user@example.com', '203.0.113.1')).toBe(false);
    await limiter.failed('user@example.com', '203.0.113.1');
    expect(await limiter.blocked('user@example.com', '203.0.113.1')).toBe(true);
    // Asking again and again counts nothing, and the user elsewhere is not blocked.
    for (let i = 0; i < 5; i++) expect(await limiter.blocked('user@example.com', '203.0.113.1')).toBe(true);
    expect(await limiter.blocked('user@example.com', '198.51.100.7')).toBe(false);
    expect(limiter.size).toBe(2);
  });
});
