import { RegistryError } from '@ocireg/errors';

export interface AppendLeaseTerms {
  uploadId: string;
  /** When this gateway asked for the lease (its clock): the term counts from then, so it never ends later than blob-upload's. */
  askedAt: number;
  /** The term blob-upload gave (BeginAppend's lease_ms). */
  leaseMs: number;
  /** The session's time limit (BeginAppend's deadline_ms): the append ends there anyway. */
  deadlineMs: number;
  /**
   * Asks blob-upload to renew the lease, giving up after `timeoutMs`;
   * resolves with the new term, or undefined when the lease is not this
   * writer's any more.
   */
  renew(timeoutMs: number): Promise<number | undefined>;
}

/** How soon a renewal that failed (blob-upload unreachable, a restart) is tried again. */
const RETRY_MS = 250;

/**
 * Keeps an append's write lease while the gateway streams a body into
 * storage: renews it every third of its term, retries a failed renewal,
 * and aborts `signal` a quarter of the term before the lease could lapse
 * unconfirmed, or at once when blob-upload says it is lost. The append
 * stops on that signal: by the time a lease lapses another writer may hold
 * the session, and two writers must never interleave their bytes. The
 * abort's reason is a retryable 503; the client resumes from the committed
 * offset.
 */
export class AppendLease {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal = this.controller.signal;
  /** Until when the lease surely runs (this gateway's clock). */
  private validUntil: number;
  private renewTimer?: NodeJS.Timeout;
  private guardTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly terms: AppendLeaseTerms,
    private readonly now: () => number = Date.now,
  ) {
    this.validUntil = terms.askedAt + terms.leaseMs;
    this.keep(this.renewEveryMs);
  }

  /** The append is over (committed or failed): no more renewals. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.guardTimer);
  }

  private get renewEveryMs(): number {
    return this.terms.leaseMs / 3;
  }

  /** How long before the lease could lapse the append is stopped: time for writes on their way to land. */
  private get marginMs(): number {
    return this.terms.leaseMs / 4;
  }

  private get stopAt(): number {
    return this.validUntil - this.marginMs;
  }

  /** Arms the guard for the current term and the next renewal. */
  private keep(renewInMs: number): void {
    clearTimeout(this.renewTimer);
    clearTimeout(this.guardTimer);
    if (this.stopped) return;
    // A lease that runs (about) to the session's time limit needs no renewal: nobody can take the session after it.
    if (this.validUntil >= this.terms.deadlineMs - this.marginMs) return;
    this.guardTimer = setTimeout(() => this.lose('could not be renewed in time'), Math.max(0, this.stopAt - this.now()));
    this.renewTimer = setTimeout(() => void this.renew(), renewInMs);
  }

  private async renew(): Promise<void> {
    const askedAt = this.now();
    let leaseMs: number | undefined;
    try {
      leaseMs = await this.terms.renew(Math.max(1, this.stopAt - askedAt));
    } catch {
      // The guard stays armed: keep trying until it fires.
      if (!this.stopped) this.renewTimer = setTimeout(() => void this.renew(), RETRY_MS);
      return;
    }
    if (this.stopped) return;
    if (leaseMs === undefined) return this.lose('is not held any more');
    this.validUntil = askedAt + leaseMs;
    this.keep(this.renewEveryMs);
  }

  private lose(why: string): void {
    if (this.stopped) return;
    this.stop();
    this.controller.abort(
      new RegistryError('UNAVAILABLE', `the write lease of upload ${this.terms.uploadId} ${why}, so the append stopped; resume from the committed offset (GET the upload)`, { retryAfterSeconds: 1 }),
    );
  }
}
