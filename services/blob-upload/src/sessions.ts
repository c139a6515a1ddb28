import type { Redis } from 'ioredis';
import type { UploadedPart } from '@ocireg/storage';

/** Everything needed to resume an upload after a restart of any blob-upload replica. */
export interface UploadSession {
  id: string;
  repository: string;
  /** Object key the multipart upload assembles into. */
  storageKey: string;
  multipartId: string;
  /** Bytes received and committed (parts + tail). */
  size: number;
  parts: UploadedPart[];
  /** Bytes after the last part, kept as a small object until a part fills up. */
  tail: { key: string; size: number } | null;
  /** Epoch milliseconds. */
  startedAt: number;
}

export interface SessionStore {
  get(id: string): Promise<UploadSession | undefined>;
  save(session: UploadSession): Promise<void>;
  delete(id: string): Promise<void>;
  /** Ids of sessions started before `epochMs`, oldest first. */
  startedBefore(epochMs: number, limit: number): Promise<string[]>;
  /** Remembers for a while that a session ended by timing out, so a late client is told why. */
  markExpired(id: string): Promise<void>;
  wasExpired(id: string): Promise<boolean>;
}

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

  async get(id: string): Promise<UploadSession | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as UploadSession) : undefined;
  }

  async save(session: UploadSession): Promise<void> {
    await this.redis.multi().set(this.key(session.id), JSON.stringify(session), 'EX', this.ttlSeconds).zadd(this.startsKey, 'NX', session.startedAt, session.id).exec();
  }

  async delete(id: string): Promise<void> {
    await this.redis.multi().del(this.key(id)).zrem(this.startsKey, id).exec();
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
}
