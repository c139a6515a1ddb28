import type { Writable } from 'node:stream';

/** Bytes per buffer: few reads and writes per GiB. */
export const WRITE_BUFFER_SIZE = 1024 * 1024;

/**
 * A few buffers for the reads that feed one destination (a pull's response),
 * each taken back once the destination has written its bytes, so streaming
 * a blob allocates nothing per chunk. (Every new Buffer counts towards V8's
 * external memory, and that growth forces full garbage collections: about 25
 * per GiB streamed in fresh 1 MiB or 64 KiB chunks, a quarter of the CPU.)
 */
export class WriteBuffers {
  private readonly free: Buffer[];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private writing = 0;

  constructor(
    private readonly destination: Writable,
    count = 4,
    size = WRITE_BUFFER_SIZE,
  ) {
    this.free = Array.from({ length: count }, () => Buffer.allocUnsafe(size));
    const stop = (err?: Error) => {
      this.failure ??= err ?? new Error('the destination closed before the whole object was written');
      this.notify();
    };
    destination.once('error', stop);
    destination.once('close', () => stop());
  }

  /** The error that ended the destination, once it has. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** How many buffers are free now. */
  get available(): number {
    return this.free.length;
  }

  /** A free buffer, or undefined while all are being written. */
  take(): Buffer | undefined {
    if (this.failure) throw this.failure;
    return this.free.pop();
  }

  /** Resolves when a buffer is free again; rejects once the destination failed. */
  async ready(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failure) throw this.failure;
  }

  /**
   * Writes the first `length` bytes of `buffer` (one from take()) and takes it
   * back once they are written. The buffers bound what waits in the
   * destination: a reader that finds none free waits with ready().
   */
  write(buffer: Buffer, length: number): void {
    this.writing++;
    this.destination.write(buffer.subarray(0, length), (err) => {
      this.writing--;
      if (err) this.failure ??= err;
      else this.free.push(buffer);
      this.notify();
    });
  }

  /** Resolves once every write is done. */
  async flushed(): Promise<void> {
    while (this.writing > 0) await this.ready();
    if (this.failure) throw this.failure;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
