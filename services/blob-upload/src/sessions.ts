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
}

/** Sessions as JSON strings in Redis, expiring a little after the upload time limit. */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  private key(id: string): string {
    return `ocireg:upload:${id}`;
  }

  async get(id: string): Promise<UploadSession | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as UploadSession) : undefined;
  }

  async save(session: UploadSession): Promise<void> {
    await this.redis.set(this.key(session.id), JSON.stringify(session), 'EX', this.ttlSeconds);
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}
