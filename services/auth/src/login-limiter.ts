import type { Redis } from 'ioredis';
import { RegistryError } from '@ocireg/errors';

const WINDOW_SECONDS = 300;

/** Failed logins per account and per client address, counted in Redis so every replica sees them. */
export class LoginLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly perAccount: number,
    private readonly perIp: number,
  ) {}

  private keys(account: string, ip: string): string[] {
    return [`ocireg:login-failures:account:${account.toLowerCase()}`, `ocireg:login-failures:ip:${ip || 'unknown'}`];
  }

  async check(account: string, ip: string): Promise<void> {
    const [forAccount, forIp] = await this.redis.mget(...this.keys(account, ip));
    if (Number(forAccount ?? 0) >= this.perAccount || Number(forIp ?? 0) >= this.perIp) {
      throw new RegistryError('TOOMANYREQUESTS', `too many failed logins; try again in ${WINDOW_SECONDS / 60} minutes`);
    }
  }

  async failed(account: string, ip: string): Promise<void> {
    const pipeline = this.redis.multi();
    for (const key of this.keys(account, ip)) pipeline.incr(key).expire(key, WINDOW_SECONDS, 'NX');
    await pipeline.exec();
  }
}
