import type { Redis } from 'ioredis';

const WINDOW_SECONDS = 300;

/**
 * Failed logins, counted per account from one client address and per client
 * address, in windows of 5 minutes from the first failure. Only failures are
 * throttled: a correct secret is always accepted, so nobody can lock a user
 * out by guessing at their account from elsewhere, and users behind one
 * address are not locked out by each other's typos (the gateway takes the
 * client address from X-Forwarded-For only behind its trusted proxies).
 */
export interface LoginLimiter {
  /** Counts a failure; true when this account from this address, or this address, is over its limit. */
  failed(account: string, ip: string): Promise<boolean>;
  /**
   * Whether this account from this address, or this address, is already over
   * its limit, without counting anything. Passwords are refused unchecked
   * while it is (guessing stops); API tokens never ask (a right token always works).
   */
  blocked(account: string, ip: string): Promise<boolean>;
}

export interface LoginLimits {
  /** Failures of one account from one address. */
  perAccountAndIp: number;
  /** Failures from one address, whatever the account. */
  perIp: number;
}

function limiterKeys(account: string, ip: string): [string, string] {
  const address = ip || 'unknown';
  return [`ocireg:login-failures:account-ip:${account.trim().toLowerCase()}|${address}`, `ocireg:login-failures:ip:${address}`];
}

const over = (limits: LoginLimits, [forPair, forIp]: [number, number]) => forPair > limits.perAccountAndIp || forIp > limits.perIp;

/** Counted in Redis so every replica sees them. */
export class RedisLoginLimiter implements LoginLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly limits: LoginLimits,
  ) {}

  async failed(account: string, ip: string): Promise<boolean> {
    const [pairKey, ipKey] = limiterKeys(account, ip);
    const results = await this.redis.multi().incr(pairKey).expire(pairKey, WINDOW_SECONDS, 'NX').incr(ipKey).expire(ipKey, WINDOW_SECONDS, 'NX').exec();
    return over(this.limits, [Number(results?.[0]?.[1] ?? 0), Number(results?.[2]?.[1] ?? 0)]);
  }

  async blocked(account: string, ip: string): Promise<boolean> {
    const counts = await this.redis.mget(...limiterKeys(account, ip));
    return over(this.limits, [Number(counts[0] ?? 0), Number(counts[1] ?? 0)]);
  }
}

/** Counted in this process (embedded mode: one auth replica, no Redis); the same rules as RedisLoginLimiter. */
export class MemoryLoginLimiter implements LoginLimiter {
  private readonly failures = new Map<string, { count: number; until: number }>();
  private sweptAt = 0;

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  async failed(account: string, ip: string): Promise<boolean> {
    const now = this.now();
    this.sweep(now);
    const counts = limiterKeys(account, ip).map((key) => {
      const entry = this.failures.get(key);
      // Like INCR + EXPIRE NX: the window runs from the first failure, later ones do not extend it.
      if (entry && entry.until > now) return ++entry.count;
      this.failures.set(key, { count: 1, until: now + WINDOW_SECONDS * 1000 });
      return 1;
    }) as [number, number];
    return over(this.limits, counts);
  }

  async blocked(account: string, ip: string): Promise<boolean> {
    const now = this.now();
    const counts = limiterKeys(account, ip).map((key) => {
      const entry = this.failures.get(key);
      return entry && entry.until > now ? entry.count : 0;
    }) as [number, number];
    return over(this.limits, counts);
  }

  /** Forgets ended windows at most once a minute, so guessing from many addresses cannot grow the map for ever. */
  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    for (const [key, entry] of this.failures) if (entry.until <= now) this.failures.delete(key);
  }

  /** Account-address pairs and addresses currently remembered (for tests). */
  get size(): number {
    return this.failures.size;
  }
}

/** Redis when the deployment has it (shared by replicas), else in memory (embedded mode). */
export function createLoginLimiter(redis: Redis | undefined, limits: LoginLimits): LoginLimiter {
  return redis ? new RedisLoginLimiter(redis, limits) : new MemoryLoginLimiter(limits);
}
