import type { Redis } from 'ioredis';

/** Per subject ("user:<id>" or "workspace:<slug>"), when access last changed, in epoch ms; gateways read it at start. */
export const ACCESS_EPOCHS_KEY = 'ocireg:access-epochs';
/** Announces "<subject> <epoch ms>" to every gateway, which then refuses registry tokens decided before. */
export const ACCESS_CHANNEL = 'ocireg:access-changed';

export interface AccessChanges {
  /** Access changed for a user ("user:<id>") or for everyone in a workspace ("workspace:<slug>": a link, a setting). */
  announce(subject: `user:${string}` | `workspace:${string}`): Promise<void>;
}

export const NO_ANNOUNCEMENTS: AccessChanges = { announce: async () => undefined };

export class RedisAccessChanges implements AccessChanges {
  constructor(private readonly redis: Redis) {}

  async announce(subject: string): Promise<void> {
    const now = Date.now();
    await this.redis.multi().hset(ACCESS_EPOCHS_KEY, subject, now).publish(ACCESS_CHANNEL, `${subject} ${now}`).exec();
  }
}
