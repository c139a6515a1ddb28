import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RegistryError } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';
import type { UpstreamBlob } from './upstream-client';

/** Readers take the spool in pieces of at most this. */
const READ_CHUNK = 1024 * 1024;

/** What a fill does besides spooling: fetch from the upstream, store and commit (proxy-blobs.ts). */
export interface FillWork {
  fetch(): Promise<UpstreamBlob>;
  /** Streams the upstream's bytes into the cache; resolves with the storage session to complete or cancel. */
  store(chunks: AsyncIterable<Buffer>): Promise<{ complete(digest: string, size: number): Promise<void>; cancel(): Promise<void> }>;
}

/** A blob as a client of a fill receives it; `release` (once it is read or abandoned) lets the spool close. */
export interface FillStream {
  size?: number;
  chunks: AsyncIterable<Buffer>;
  release(): void;
}

/**
 * One fetch per blob: the first client pulling a blob the cache lacks starts
 * a fill, later ones join it. The upstream's bytes go, in one pass, into a
 * spool file (unlinked at once, so it never outlives the process) and into
 * storage; every client reads the spool as it grows, so the first byte goes
 * out before the blob is complete. The digest is checked over the bytes as
 * they pass; only then do clients get the last byte and is the blob
 * committed (a mismatch cuts every client off and stores nothing).
 */
export class BlobFills {
  private readonly running = new Map<string, Fill>();

  constructor(private readonly options: { spoolDir: string; logger: Logger }) {}

  /** How many fills are under way (metrics, tests). */
  get size(): number {
    return this.running.size;
  }

  /** Joins the fill of `key` (starting it with `work` when none runs); resolves once the upstream answered. */
  async join(key: string, digest: string, work: FillWork): Promise<FillStream> {
    let fill = this.running.get(key);
    if (!fill) {
      fill = new Fill(digest);
      this.running.set(key, fill);
      const started = fill;
      void this.run(started, work).finally(() => {
        if (this.running.get(key) === started) this.running.delete(key);
        started.finish();
      });
    }
    const reader = fill.reader();
    try {
      const size = await fill.answered;
      return { size, ...reader };
    } catch (err) {
      reader.release();
      throw err;
    }
  }

  private async run(fill: Fill, work: FillWork): Promise<void> {
    try {
      await mkdir(this.options.spoolDir, { recursive: true });
      const spool = path.join(this.options.spoolDir, `fill-${randomBytes(8).toString('hex')}`);
      const fd = await open(spool, 'w+', 0o600);
      await unlink(spool);
      fill.attach(fd);
      const upstream = await work.fetch();
      fill.announce(upstream.size);
      const hash = createHash(fill.algorithm);
      let size = 0;
      const tee = async function* (): AsyncGenerator<Buffer> {
        for await (const chunk of upstream.body as AsyncIterable<Buffer>) {
          hash.update(chunk);
          size += chunk.length;
          await fill.append(chunk);
          yield chunk;
        }
      };
      const session = await work.store(tee());
      const computed = `${fill.algorithm}:${hash.digest('hex')}`;
      if (computed !== fill.digest || (upstream.size !== undefined && upstream.size !== size)) {
        await session.cancel();
        throw new RegistryError('DIGEST_INVALID', `the upstream sent ${size} bytes with digest ${computed} for blob ${fill.digest}; nothing was cached`, { digest: fill.digest });
      }
      fill.verified();
      await session.complete(computed, size).catch((err: unknown) => this.options.logger.warn({ err, digest: fill.digest }, 'a pulled-through blob was served but could not be cached'));
    } catch (err) {
      fill.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** One blob being filled: its spool, how much of it is written, and its readers. */
class Fill {
  readonly algorithm: string;
  readonly answered: Promise<number | undefined>;
  private announceSize!: (size: number | undefined) => void;
  private refuse!: (err: Error) => void;
  private fd?: FileHandle;
  private written = 0;
  private checked = false;
  private failure?: Error;
  private readers = 0;
  private over = false;
  private readonly progress = new EventEmitter().setMaxListeners(0);

  constructor(readonly digest: string) {
    this.algorithm = digest.split(':')[0]!;
    this.answered = new Promise((resolve, reject) => {
      this.announceSize = resolve;
      this.refuse = reject;
    });
    this.answered.catch(() => undefined);
  }

  attach(fd: FileHandle): void {
    this.fd = fd;
  }

  announce(size: number | undefined): void {
    this.announceSize(size);
  }

  async append(chunk: Buffer): Promise<void> {
    await this.fd!.write(chunk, 0, chunk.length, this.written);
    this.written += chunk.length;
    this.progress.emit('progress');
  }

  verified(): void {
    this.checked = true;
    this.progress.emit('progress');
  }

  fail(err: Error): void {
    this.failure = err;
    this.refuse(err);
    this.progress.emit('progress');
  }

  /** The fill is over (committed or failed): the spool closes with its last reader. */
  finish(): void {
    this.over = true;
    this.closeIfIdle();
  }

  /** A reader of the spool from its start, counted until released (the spool stays open for it). */
  reader(): { chunks: AsyncIterable<Buffer>; release(): void } {
    this.readers++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.readers--;
      this.closeIfIdle();
    };
    return { chunks: this.read(), release };
  }

  private async *read(): AsyncGenerator<Buffer, void, undefined> {
    let position = 0;
    for (;;) {
      if (this.failure) throw this.failure;
      // The last byte waits for the digest check: no client receives a whole blob that failed it.
      const available = this.checked ? this.written : this.written - 1;
      if (position < available && this.fd) {
        const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, available - position));
        const { bytesRead } = await this.fd.read(buffer, 0, buffer.length, position);
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
        continue;
      }
      if (this.checked) return;
      await new Promise((resolve) => this.progress.once('progress', resolve));
    }
  }

  private closeIfIdle(): void {
    if (this.over && this.readers === 0 && this.fd) {
      const fd = this.fd;
      this.fd = undefined;
      void fd.close().catch(() => undefined);
    }
  }
}
