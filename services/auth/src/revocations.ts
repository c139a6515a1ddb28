import type { Redis } from 'ioredis';

/** Where revoked token ids are kept (score: when the token would have expired) and announced. */
export const REVOKED_SET = 'ocireg:revoked-tokens';
export const REVOCATION_CHANNEL = 'ocireg:revocations';

export async function announceRevocation(redis: Redis, tokenId: string, expiresAt: Date): Promise<void> {
  await redis.multi().zadd(REVOKED_SET, expiresAt.getTime(), tokenId).zremrangebyscore(REVOKED_SET, '-inf', Date.now()).publish(REVOCATION_CHANNEL, tokenId).exec();
}
