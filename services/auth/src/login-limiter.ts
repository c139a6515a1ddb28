import type { Redis } from 'ioredis';
import { RegistryError } from '@ocireg/errors';

const WINDOW_SECONDS = 300;

/**
 * Failed logins per account and per client address: after `perAccount` (or
 * `perIp`) failures within a window of 5 minutes from the first one, logins
 * are refused until the window ends.
 */
export interface LoginLimiter {
  /** Throws TOOMANYREQUESTS when the account or the address is over its limit. */
  check(account: string, ip: string): Promise<void>;
  failed(account: string, ip: string): Promise<void>;
}

function limiterKeys(account: string, ip: string): [string, string] {
  return [`ocireg:login-failures:account:${account.toLowerCase()}`, `ocireg:login-failures:ip:${ip || 'unknown'}`];
}

function tooMany(): RegistryError {
  return new RegistryError('TOOMANYREQUESTS', `too many failed logins; try again in ${WINDOW_SECONDS / 60} minutes`);
}

/** Counted in Redis so every replica sees them. */
export class RedisLoginLimiter implements LoginLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly perAccount: number,
    private readonly perIp: number,
  ) {}

  async check(account: string, ip: string): Promise<void> {
    const [forAccount, forIp] = await this.redis.mget(...limiterKeys(account, ip));
    if (Number(forAccount ?? 0) >= this.perAccount || Number(forIp ?? 0) >= this.perIp) throw tooMany();
  }

  async failed(account: string, ip: string): Promise<void> {
    const pipeline = this.redis.multi();
    for (const key of limiterKeys(account, ip)) pipeline.incr(key).expire(key, WINDOW_SECONDS, 'NX');
    await pipeline.exec();
  }
}

/** Counted in this process (embedded mode: one auth replica, no Redis); the same rules as RedisLoginLimiter. */
export class MemoryLoginLimiter implements LoginLimiter {
  private readonly failures = new Map<string, { count: number; until: number }>();
  private sweptAt = 0;

  constructor(
    private readonly perAccount: number,
    private readonly perIp: number,
    private readonly now: () => number = Date.now,
  ) {}

  private count(key: string): number {
    const entry = this.failures.get(key);
    return entry && entry.until > this.now() ? entry.count : 0;
  }

  async check(account: string, ip: string): Promise<void> {
    const [forAccount, forIp] = limiterKeys(account, ip);
    if (this.count(forAccount) >= this.perAccount || this.count(forIp) >= this.perIp) throw tooMany();
  }

  async failed(account: string, ip: string): Promise<void> {
    const now = this.now();
    this.sweep(now);
    for (const key of limiterKeys(account, ip)) {
      const entry = this.failures.get(key);
      // Like INCR + EXPIRE NX: the window runs from the first failure, later ones do not extend it.
      if (entry && entry.until > now) entry.count++;
      else this.failures.set(key, { count: 1, until: now + WINDOW_SECONDS * 1000 });
    }
  }

  /** Forgets ended windows at most once a minute, so guessing from many addresses cannot grow the map for ever. */
  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    for (const [key, entry] of this.failures) if (entry.until <= now) this.failures.delete(key);
  }

  /** Accounts and addresses currently remembered (for tests). */
  get size(): number {
    return this.failures.size;
  }
}

/** Redis when the deployment has it (shared by replicas), else in memory (embedded mode). */
export function createLoginLimiter(redis: Redis | undefined, perAccount: number, perIp: number): LoginLimiter {
  return redis ? new RedisLoginLimiter(redis, perAccount, perIp) : new MemoryLoginLimiter(perAccount, perIp);
}
