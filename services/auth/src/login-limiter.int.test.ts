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

  const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

  it('refuses an account after its failures reach the limit, from any address, and leaves others alone', async () => {
    const limiter = new RedisLoginLimiter(redis, 3, 100);
    const account = `${unique('victim')}@example.com`;
    for (let i = 0; i < 3; i++) {
      await limiter.check(account, `10.0.0.${i}`);
      await limiter.failed(account, `10.0.0.${i}`);
    }
    await expect(limiter.check(account, '10.0.0.99')).rejects.toMatchObject({ code: 'TOOMANYREQUESTS', httpStatus: 429 });
    await expect(limiter.check(`${unique('other')}@example.com`, '10.0.0.99')).resolves.toBeUndefined();
  });

  it('refuses an address after its failures reach the limit, whatever account it tries', async () => {
    const limiter = new RedisLoginLimiter(redis, 100, 4);
    const address = unique('ip');
    for (let i = 0; i < 4; i++) await limiter.failed(`${unique('guess')}@example.com`, address);
    await expect(limiter.check(`${unique('fresh')}@example.com`, address)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    await expect(limiter.check(`${unique('fresh')}@example.com`, unique('ip'))).resolves.toBeUndefined();
    // The counters expire: a window, not a permanent ban.
    expect(await redis.ttl(`ocireg:login-failures:ip:${address}`)).toBeGreaterThan(0);
  });
});
