import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLoginLimiter } from './login-limiter';

describe('RedisLoginLimiter', () => {
  let redis: Redis;

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
  });

  afterAll(async () => {
    await redis?.quit();
  });

  const unique = (prefix: string) => `${prefix}${randomBytes(4).toString('hex')}`;

  it('throttles one account from one address after its limit, but not the same account from another address', async () => {
    const limiter = new RedisLoginLimiter(redis, { perAccountAndIp: 3, perIp: 100 });
    const account = `${unique('victim')}@example.com`;
    const attacker = unique('ip');
    for (let i = 0; i < 3; i++) expect(await limiter.failed(account, attacker)).toBe(false);
    expect(await limiter.failed(account, attacker)).toBe(true);
    expect(await limiter.failed(account, unique('ip'))).toBe(false);
  });

  it('throttles an address after its limit, whatever account it tries, for a window', async () => {
    const limiter = new RedisLoginLimiter(redis, { perAccountAndIp: 100, perIp: 4 });
    const address = unique('ip');
    for (let i = 0; i < 4; i++) expect(await limiter.failed(`${unique('guess')}@example.com`, address)).toBe(false);
    expect(await limiter.failed(`${unique('fresh')}@example.com`, address)).toBe(true);
    expect(await limiter.failed(`${unique('fresh')}@example.com`, unique('ip'))).toBe(false);
    // The counters expire: a window, not a permanent ban.
    expect(await redis.ttl(`ocireg:login-failures:ip:${address}`)).toBeGreaterThan(0);
  });

  it('blocked() reads the same counters without counting', async () => {
    const limiter = new RedisLoginLimiter(redis, { perAccountAndIp: 1, perIp: 100 });
    const account = `${unique('pw')}@example.com`;
    const address = unique('ip');
    expect(await limiter.blocked(account, address)).toBe(false);
    await limiter.failed(account, address);
    await limiter.failed(account, address);
    expect(await limiter.blocked(account, address)).toBe(true);
    expect(await redis.get(`ocireg:login-failures:account-ip:${account}|${address}`)).toBe('2');
    expect(await limiter.blocked(account, unique('ip'))).toBe(false);
  });
});
