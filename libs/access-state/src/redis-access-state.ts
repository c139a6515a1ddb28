import { Redis } from 'ioredis';
import type { Logger } from '@ocireg/logger';
import { backoff, DEFAULT_CLIENT_NAME, sleep, type AccessSnapshot, type AccessStateListener, type AccessStateReader, type AccessStateWriter, type ReaderOptions } from './access-state';
import { accessMessage, parseAccessMessage, REDIS_NAMES, type AccessSubject } from './names';

const { revokedTokens, revocationChannel, accessEpochs, accessChannel } = REDIS_NAMES;

/** MULTI/EXEC reports a failed command in its results instead of rejecting. */
async function execAll(pipeline: ReturnType<Redis['multi']>): Promise<void> {
  for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
}

export class RedisAccessStateWriter implements AccessStateWriter {
  private readonly redis: Redis;

  constructor(url: string, logger: Logger) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 3, connectionName: DEFAULT_CLIENT_NAME });
    this.redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'access state: Redis connection error'));
  }

  async revokeToken(tokenId: string, expiresAt: Date): Promise<void> {
    // Pruning here keeps the set to live tokens without a separate job.
    await execAll(this.redis.multi().zadd(revokedTokens, expiresAt.getTime(), tokenId).zremrangebyscore(revokedTokens, '-inf', Date.now()).publish(revocationChannel, tokenId));
  }

  async accessChanged(subject: AccessSubject): Promise<void> {
    const now = Date.now();
    await execAll(this.redis.multi().hset(accessEpochs, subject, now).publish(accessChannel, accessMessage(subject, now)));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** Reads with one connection and listens with another (a subscribed connection can do nothing else). */
export class RedisAccessStateReader implements AccessStateReader {
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private listener?: AccessStateListener;
  private closed = false;

  constructor(url: string, private readonly logger: Logger, options: ReaderOptions = {}) {
    const connectionName = options.clientName ?? DEFAULT_CLIENT_NAME;
    this.commands = new Redis(url, { maxRetriesPerRequest: 3, connectionName });
    this.subscriber = new Redis(url, { connectionName });
    for (const connection of [this.commands, this.subscriber]) {
      connection.on('error', (err: Error) => logger.warn({ err: err.message }, 'access state: Redis connection error'));
    }
  }

  async load(): Promise<AccessSnapshot> {
    const [revoked, epochs] = await Promise.all([this.commands.zrangebyscore(revokedTokens, Date.now(), '+inf'), this.commands.hgetall(accessEpochs)]);
    return { revokedTokens: revoked, accessEpochs: new Map(Object.entries(epochs).map(([subject, epoch]) => [subject, Number(epoch)])) };
  }

  async watch(listener: AccessStateListener): Promise<void> {
    this.listener = listener;
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === revocationChannel) listener.onRevoked(message);
      const change = channel === accessChannel ? parseAccessMessage(message) : undefined;
      if (change) listener.onAccessChanged(change.subject, change.epochMs);
    });
    // Subscribe before loading: a change between the two is then seen twice, never missed.
    await this.subscriber.subscribe(revocationChannel, accessChannel);
    listener.onSnapshot(await this.load());
    // ioredis resubscribes by itself after a reconnect, but what was published meanwhile is lost: reload.
    this.subscriber.on('ready', () => void this.resync());
  }

  private async resync(): Promise<void> {
    for (const delay of backoff()) {
      if (this.closed) return;
      try {
        // Queued behind ioredis's own resubscription, so the reload starts once messages flow again.
        await this.subscriber.subscribe(revocationChannel, accessChannel);
        this.listener?.onSnapshot(await this.load());
        this.logger.info('access state reloaded after a Redis reconnect');
        return;
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'access state: reload after reconnect failed; retrying');
        await sleep(delay);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.commands, this.subscriber].map((connection) => connection.quit().catch(() => connection.disconnect())));
  }
}
