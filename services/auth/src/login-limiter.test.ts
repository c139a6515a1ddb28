import { describe, expect, it } from 'vitest';
import { MemoryLoginLimiter } from './login-limiter';

/** A clock the test moves by hand. */
function clock(start = 1_700_000_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

describe('MemoryLoginLimiter', () => {
  it('refuses an account after its failures reach the limit, from any address, whatever the case, and leaves others alone', async () => {
    const limiter = new MemoryLoginLimiter(3, 100);
    for (let i = 0; i < 3; i++) {
      await limiter.check('victim@example.com', `10.0.0.${i}`);
      await limiter.failed('victim@example.com', `10.0.0.${i}`);
    }
    await expect(limiter.check('Victim@Example.com', '10.0.0.99')).rejects.toMatchObject({ code: 'TOOMANYREQUESTS', httpStatus: 429 });
    await expect(limiter.check('other@example.com', '10.0.0.99')).resolves.toBeUndefined();
  });

  it('refuses an address after its failures reach the limit, whatever account it tries', async () => {
    const limiter = new MemoryLoginLimiter(100, 4);
    for (let i = 0; i < 4; i++) await limiter.failed(`guess${i}@example.com`, '192.0.2.7');
    await expect(limiter.check('fresh@example.com', '192.0.2.7')).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    await expect(limiter.check('fresh@example.com', '192.0.2.8')).resolves.toBeUndefined();
  });

  it('counts one below the limit as allowed', async () => {
    const limiter = new MemoryLoginLimiter(3, 100);
    for (let i = 0; i < 2; i++) await limiter.failed('almost@example.com', '10.1.1.1');
    await expect(limiter.check('almost@example.com', '10.1.1.1')).resolves.toBeUndefined();
  });

  it('is a window from the first failure, not a permanent ban, and later failures do not extend it', async () => {
    const { time, now } = clock();
    const limiter = new MemoryLoginLimiter(2, 100, now);
    await limiter.failed('slow@example.com', '10.2.2.2');
    time.now += 200_000;
    await limiter.failed('slow@example.com', '10.2.2.2');
    await expect(limiter.check('slow@example.com', '10.2.2.2')).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    time.now += 99_000; // 299 s after the first failure: still refused
    await expect(limiter.check('slow@example.com', '10.2.2.2')).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    time.now += 1_000; // 300 s: the window has ended
    await expect(limiter.check('slow@example.com', '10.2.2.2')).resolves.toBeUndefined();
    // A new failure starts a new window at one.
    await limiter.failed('slow@example.com', '10.2.2.2');
    await expect(limiter.check('slow@example.com', '10.2.2.2')).resolves.toBeUndefined();
  });

  it('forgets ended windows, so many addresses do not grow it for ever', async () => {
    const { time, now } = clock();
    const limiter = new MemoryLoginLimiter(10, 10, now);
    for (let i = 0; i < 50; i++) await limiter.failed(`a${i}@example.com`, `10.3.0.${i}`);
    expect(limiter.size).toBe(100);
    time.now += 301_000;
    await limiter.failed('late@example.com', '10.3.1.1');
    expect(limiter.size).toBe(2);
  });
});
