import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisSessionStore } from './redis-session-store';
import { sessionStoreContract } from './session-store-contract';

// Runs against the Redis that the integration setup starts (REDIS_URL).
let redis: Redis;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL!);
});

afterAll(async () => {
  await redis?.quit();
});

sessionStoreContract('Redis', (ttlSeconds) => new RedisSessionStore(redis, ttlSeconds, `test-${randomBytes(6).toString('hex')}`));
