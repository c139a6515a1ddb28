import type { Redis } from 'ioredis';
import type { LeaseAttempt, SessionStore, UploadSession } from './sessions';

/**
 * Sessions as JSON strings in Redis, expiring a little after the upload time
 * limit, plus a sorted set of start times so the sweeper finds expired ones
 * (and frees their storage) before Redis forgets them.
 */
export class RedisSessionStore implements SessionStore {
  private readonly startsKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
    /** Namespace of the keys, so several registries (or tests) can share one Redis. */
    private readonly prefix = 'ocireg',
  ) {
    this.startsKey = `${prefix}:upload-starts`;
  }

  private key(id: string): string {
    return `${this.prefix}:upload:${id}`;
  }

  private ownerKey(owner: string): string {
    return `${this.prefix}:upload-owner:${owner}`;
  }

  async get(id: string): Promise<UploadSession | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as UploadSession) : undefined;
  }

  async save(session: UploadSession): Promise<void> {
    await this.redis
      .multi()
      .set(this.key(session.id), JSON.stringify(session), 'EX', this.ttlSeconds)
      .zadd(this.startsKey, 'NX', session.startedAt, session.id)
      .zadd(this.ownerKey(session.owner), 'NX', session.startedAt, session.id)
      .expire(this.ownerKey(session.owner), this.ttlSeconds)
      .exec();
  }

  async delete(id: string, owner?: string): Promise<void> {
    const transaction = this.redis.multi().del(this.key(id), this.leaseKey(id)).zrem(this.startsKey, id);
    if (owner !== undefined) transaction.zrem(this.ownerKey(owner), id);
    await transaction.exec();
  }

  async countOpen(owner: string, startedAfterMs: number): Promise<number> {
    const key = this.ownerKey(owner);
    const results = await this.redis.multi().zremrangebyscore(key, '-inf', startedAfterMs).zcard(key).exec();
    return Number(results?.[1]?.[1] ?? 0);
  }

  async markExpired(id: string): Promise<void> {
    await this.redis.set(`${this.prefix}:upload-expired:${id}`, '1', 'EX', this.ttlSeconds);
  }

  async wasExpired(id: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}:upload-expired:${id}`)) === 1;
  }

  startedBefore(epochMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.startsKey, '-inf', `(${epochMs}`, 'LIMIT', 0, limit);
  }

  private leaseKey(id: string): string {
    return `${this.prefix}:upload-lease:${id}`;
  }

  async acquireLease(id: string, leaseId: string, ttlMs: number): Promise<LeaseAttempt> {
    // Set unless held, else the holder's time left: one step, so nobody takes it in between.
    const [acquired, heldForMs] = (await this.redis.eval(
      "if redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {1, 0} else return {0, redis.call('pttl', KEYS[1])} end",
      1,
      this.leaseKey(id),
      leaseId,
      leaseTtl(ttlMs),
    )) as [number, number];
    return acquired === 1 ? { acquired: true } : { acquired: false, heldForMs: Math.max(0, heldForMs) };
  }

  async renewLease(id: string, leaseId: string, ttlMs: number): Promise<boolean> {
    // Compare and extend in one step: a lease that lapsed and was taken by another holder stays theirs.
    const renewed = await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end", 1, this.leaseKey(id), leaseId, leaseTtl(ttlMs));
    return renewed === 1;
  }

  async holdsLease(id: string, leaseId: string): Promise<boolean> {
    return (await this.redis.get(this.leaseKey(id))) === leaseId;
  }

  async releaseLease(id: string, leaseId: string): Promise<void> {
    // Compare and delete in one step, so a lease that expired and was taken by another holder stays theirs.
    await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end", 1, this.leaseKey(id), leaseId);
  }
}

/** Redis takes whole milliseconds, at least 1. */
function leaseTtl(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}
