import { RegistryError } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';
import type { SessionStore } from './sessions';

/**
 * A session's write lease that this process holds while it works on the
 * session itself (completing it): renewed every third of its term until
 * released, so it lasts while the work goes on and lapses within one term
 * once the process is gone.
 */
export class HeldLease {
  private lost = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly sessions: SessionStore,
    private readonly uploadId: string,
    private readonly leaseId: string,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.renew().catch((err: unknown) => this.logger.warn({ err, uploadId }, 'could not renew an upload lease')), ttlMs / 3);
    this.timer.unref();
  }

  /** Renews the lease now; rejects (retryable) when it is not held any more, e.g. because renewals failed for a whole term. */
  async confirm(): Promise<void> {
    if (!(await this.renew())) {
      throw new RegistryError('UNAVAILABLE', `the write lease of upload ${this.uploadId} lapsed while it was being completed; try again`, { retryAfterSeconds: 1 });
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.sessions.releaseLease(this.uploadId, this.leaseId);
  }

  private async renew(): Promise<boolean> {
    if (!this.lost && !(await this.sessions.renewLease(this.uploadId, this.leaseId, this.ttlMs))) this.lost = true;
    return !this.lost;
  }
}
