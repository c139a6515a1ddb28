/** An idle gateway gives its spare part buffers back after this long without a part taken or returned. */
const IDLE_MS = 30_000;

/**
 * Part buffers S3 has taken the bytes of, kept for the next part of any
 * upload: a new buffer per part (or per PATCH) would grow V8's external
 * memory and the allocator's free lists until a full collection, which is
 * most of the gateway's memory during a push. Keeps at most `keep` idle (one
 * upload's worth), and none once uploads have stopped for a while.
 */
export class PartBuffers {
  private readonly spare: Buffer[] = [];
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly size: number,
    private readonly keep: number,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** A spare buffer, or a new one. */
  take(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(this.size);
  }

  /** A buffer whose bytes S3 has taken (nothing refers to it any more), for reuse. */
  giveBack(buffer: Buffer): void {
    if (this.spare.length < this.keep) this.spare.push(buffer);
    if (this.idleTimer) this.idleTimer.refresh();
    else this.idleTimer = setTimeout(() => this.release(), this.idleMs).unref();
  }

  /** How many spare buffers are kept now. */
  get idle(): number {
    return this.spare.length;
  }

  private release(): void {
    this.spare.length = 0;
    this.idleTimer = undefined;
  }
}
