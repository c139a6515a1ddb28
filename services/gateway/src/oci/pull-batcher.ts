import type { Logger } from '@ocireg/logger';

/** A manifest served: by tag (tag set) or by digest (tag ''). */
export interface PullRecord {
  repository: string;
  tag: string;
  digest: string;
  /** When it was served (ms since the epoch); coalesced records keep the latest. */
  at: number;
}

export interface PullBatcherSettings {
  /** Sends one call's worth of records (at most maxPerCall); rejects when the call failed. */
  send: (records: PullRecord[]) => Promise<void>;
  /** How often the batch is flushed (PULL_FLUSH_SECONDS). */
  flushMs: number;
  /** Distinct records held at most: reaching it flushes at once, and records beyond it are dropped (counted) until the flush takes the batch. */
  maxPending?: number;
  /** Records per send call (metadata's limit per RecordPulls). */
  maxPerCall?: number;
  logger: Logger;
  /** Told of records flushed and dropped (metrics). */
  counted?: (what: 'flushed' | 'dropped' | 'failed', records: number) => void;
  now?: () => number;
}

const DEFAULT_MAX_PENDING = 10_000;
const DEFAULT_MAX_PER_CALL = 1000;

/**
 * Last-pulled times (issue 24), collected off the pull path: record() is a map
 * update that never throws, never waits and never calls anything, so a pull's
 * latency does not change. Pulls of the same tag or digest (of the same
 * manifest) between flushes are one record with the latest time. A flush
 * every `flushMs`, and on close(), sends the batch in calls of `maxPerCall`;
 * a call that fails is retried once, then its records are dropped and logged
 * (a last-pulled time is a hint for listings and retention, not worth
 * blocking or failing anything for). The batch holds at most `maxPending`
 * distinct records: memory is bounded whatever metadata does.
 */
export class PullBatcher {
  private pending = new Map<string, PullRecord>();
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly maxPending: number;
  private readonly maxPerCall: number;
  private readonly now: () => number;
  private closed = false;
  private droppedSinceFlush = 0;

  constructor(private readonly settings: PullBatcherSettings) {
    this.maxPending = settings.maxPending ?? DEFAULT_MAX_PENDING;
    this.maxPerCall = settings.maxPerCall ?? DEFAULT_MAX_PER_CALL;
    this.now = settings.now ?? Date.now;
    this.timer = setInterval(() => this.flushSoon(), settings.flushMs);
    this.timer.unref();
  }

  /** Notes a pull; never throws. After close(), pulls are no longer recorded. */
  record(repository: string, tag: string, digest: string): void {
    try {
      if (this.closed) return;
      const key = `${repository} ${tag} ${digest}`;
      const at = this.now();
      const held = this.pending.get(key);
      if (held) {
        if (at > held.at) held.at = at;
        return;
      }
      if (this.pending.size >= this.maxPending) {
        this.droppedSinceFlush += 1;
        this.settings.counted?.('dropped', 1);
        return;
      }
      this.pending.set(key, { repository, tag, digest, at });
      if (this.pending.size >= this.maxPending) this.flushSoon();
    } catch {
      // A last-pulled time is never worth failing a pull for.
    }
  }

  /** Records held, not yet flushed. */
  get size(): number {
    return this.pending.size;
  }

  /** Sends what is held (after a flush already running); resolves when done, never rejects. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (this.pending.size === 0) return Promise.resolve();
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const dropped = this.droppedSinceFlush;
    this.droppedSinceFlush = 0;
    if (dropped > 0) this.settings.logger.warn({ dropped, held: this.maxPending }, 'pulls dropped from the last-pulled batch: it was full');
    this.flushing = this.send(batch).finally(() => {
      this.flushing = undefined;
      // Filled up again meanwhile: no need to wait for the timer.
      if (this.pending.size >= this.maxPending) this.flushSoon();
    });
    return this.flushing;
  }

  /** Starts a flush unless one is running (the running one's end checks again). */
  private flushSoon(): void {
    if (!this.flushing) void this.flush();
  }

  /**
   * Stops the timer and flushes what is held (the gateway's shutdown, after
   * its HTTP server stopped), waiting at most `timeoutMs`: a metadata that
   * does not answer costs the shutdown that long, and those pulls.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), timeoutMs)));
    const outcome = await Promise.race([this.flush(), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timed out') this.settings.logger.warn({ timeoutMs }, 'last-pulled times still unsent at shutdown are dropped');
  }

  private async send(batch: PullRecord[]): Promise<void> {
    for (let start = 0; start < batch.length; start += this.maxPerCall) {
      const call = batch.slice(start, start + this.maxPerCall);
      try {
        await this.sendWithRetry(call);
        this.settings.counted?.('flushed', call.length);
      } catch (err) {
        this.settings.counted?.('failed', call.length);
        this.settings.logger.warn({ err, records: call.length }, 'could not record last-pulled times; these pulls are dropped');
      }
    }
  }

  private async sendWithRetry(call: PullRecord[]): Promise<void> {
    try {
      await this.settings.send(call);
    } catch {
      await this.settings.send(call);
    }
  }
}
