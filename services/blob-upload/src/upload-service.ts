import { createHash, randomUUID, type Hash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { buffer as readAll } from 'node:stream/consumers';
import { RegistryError } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';
import { parseDigest } from '@ocireg/oci';
import { MIN_PART_SIZE, type BlobStore, type UploadedPart } from '@ocireg/storage';
import type { SessionStore, UploadSession } from './sessions';

export interface UploadLimits {
  partSize: number;
  maxBlobSize: number;
  timeLimitMs: number;
  /** Sessions one user may have open at once. */
  maxSessionsPerUser: number;
}

export interface UploadServiceDeps {
  store: BlobStore;
  sessions: SessionStore;
  logger: Logger;
  limits: UploadLimits;
  now?: () => number;
}

export interface CompletedBlob {
  digest: string;
  size: number;
  storageKey: string;
}

/** sha256 of the bytes received so far; lives in memory, so a restart falls back to re-reading the blob. */
interface RunningHash {
  hash: Hash;
  size: number;
}

/**
 * Upload sessions: bytes are hashed while they stream, cut into S3 parts of
 * `partSize` (at most two parts in memory per upload), and a remainder smaller
 * than S3's minimum part is parked as a small object until more bytes come.
 */
export class UploadService {
  private readonly store: BlobStore;
  private readonly sessions: SessionStore;
  private readonly logger: Logger;
  private readonly limits: UploadLimits;
  private readonly now: () => number;
  private readonly hashes = new Map<string, RunningHash>();
  private readonly busy = new Set<string>();

  constructor(deps: UploadServiceDeps) {
    this.store = deps.store;
    this.sessions = deps.sessions;
    this.logger = deps.logger;
    this.limits = deps.limits;
    this.now = deps.now ?? Date.now;
  }

  async start(repository: string, owner: string): Promise<UploadSession> {
    if (!owner) throw new RegistryError('DENIED', 'upload sessions belong to a user');
    const open = await this.sessions.countOpen(owner, this.now() - this.limits.timeLimitMs);
    if (open >= this.limits.maxSessionsPerUser) {
      throw new RegistryError('TOOMANYREQUESTS', `too many open upload sessions (${open}); finish or cancel some, or wait for them to expire`, { limit: this.limits.maxSessionsPerUser });
    }
    const id = randomUUID();
    const storageKey = `blobs/${id}`;
    const multipartId = await this.store.startMultipart(storageKey);
    const session: UploadSession = { id, repository, owner, storageKey, multipartId, size: 0, parts: [], tail: null, startedAt: this.now() };
    await this.sessions.save(session);
    this.hashes.set(id, { hash: createHash('sha256'), size: 0 });
    return session;
  }

  async status(id: string, repository: string, owner: string): Promise<number> {
    return (await this.load(id, repository, owner)).size;
  }

  /**
   * Appends a stream of bytes; returns the new total size. With
   * `expectedLength` (a Content-Range's end), any other number of bytes is
   * refused and nothing of this append is kept.
   */
  async append(id: string, repository: string, owner: string, expected: { offset?: number; length?: number }, data: AsyncIterable<Buffer>): Promise<number> {
    const expectedOffset = expected.offset;
    return this.exclusively(id, async () => {
      const session = await this.load(id, repository, owner);
      if (expectedOffset !== undefined && expectedOffset !== session.size) {
        throw new RegistryError('RANGE_INVALID', `upload is at offset ${session.size}, the chunk starts at ${expectedOffset}`, { offset: session.size }, 416);
      }
      const running = this.hashes.get(id);
      const hash = running && running.size === session.size ? running.hash : undefined;
      // Until this append commits, the in-memory hash may hold bytes the session does not.
      this.hashes.delete(id);

      const parts = [...session.parts];
      let pending: Buffer[] = session.tail ? [await readAll(await this.store.read(session.tail.key))] : [];
      let pendingSize = session.tail?.size ?? 0;
      let received = session.size;
      let inFlight: Promise<void> | undefined;
      const deadline = session.startedAt + this.limits.timeLimitMs;

      const uploadPart = async (bytes: Buffer) => {
        if (inFlight) await inFlight; // at most one part travelling while the next one fills
        const partNumber = parts.length + 1;
        inFlight = this.store.putPart(session.storageKey, session.multipartId, partNumber, bytes).then((part) => {
          parts.push(part);
        });
      };

      try {
        // The session's time limit ends the call even while no bytes arrive (a client trickling a byte a second).
        for await (const chunk of untilDeadline(data, deadline - this.now(), () => this.timedOut())) {
          received += chunk.length;
          if (received > this.limits.maxBlobSize) throw this.tooLarge();
          if (this.now() > deadline) throw this.timedOut();
          hash?.update(chunk);
          pending.push(chunk);
          pendingSize += chunk.length;
          while (pendingSize >= this.limits.partSize) {
            const joined = Buffer.concat(pending, pendingSize);
            pending = joined.length > this.limits.partSize ? [joined.subarray(this.limits.partSize)] : [];
            pendingSize = joined.length - this.limits.partSize;
            await uploadPart(joined.subarray(0, this.limits.partSize));
          }
        }
        if (expected.length !== undefined && received - session.size !== expected.length) {
          throw new RegistryError('RANGE_INVALID', `the Content-Range announced ${expected.length} bytes, the body had ${received - session.size}`, undefined, 416);
        }
        if (pendingSize >= MIN_PART_SIZE) {
          await uploadPart(Buffer.concat(pending, pendingSize));
          pending = [];
          pendingSize = 0;
        }
        if (inFlight) await inFlight;
      } catch (err) {
        if (inFlight) await inFlight.catch(() => undefined);
        if (err instanceof RegistryError && err.code === 'SIZE_INVALID') await this.discard(session);
        if (err instanceof RegistryError && err.code === 'BLOB_UPLOAD_UNKNOWN') await this.expire(session);
        throw err;
      }

      const oldTail = session.tail;
      const tail = pendingSize > 0 ? { key: `uploads/${id}/tail-${received}`, size: pendingSize } : null;
      if (tail) await this.store.put(tail.key, Buffer.concat(pending, pendingSize));
      await this.sessions.save({ ...session, size: received, parts, tail });
      if (oldTail && oldTail.key !== tail?.key) await this.store.delete(oldTail.key);
      if (hash) this.hashes.set(id, { hash, size: received });
      return received;
    });
  }

  /** Makes the session's bytes a blob after checking them against `digest`. */
  async complete(id: string, repository: string, owner: string, digest: string): Promise<CompletedBlob> {
    const expected = parseDigest(digest);
    return this.exclusively(id, async () => {
      const session = await this.load(id, repository, owner);
      const parts = [...session.parts];
      if (session.tail) {
        const tailBytes = await readAll(await this.store.read(session.tail.key));
        parts.push(await this.store.putPart(session.storageKey, session.multipartId, parts.length + 1, tailBytes));
      }
      if (parts.length === 0) {
        await this.store.abortMultipart(session.storageKey, session.multipartId);
        await this.store.put(session.storageKey, Buffer.alloc(0));
      } else {
        await this.store.completeMultipart(session.storageKey, session.multipartId, parts);
      }

      const running = this.hashes.get(id);
      const actual =
        expected.algorithm === 'sha256' && running && running.size === session.size
          ? `sha256:${running.hash.digest('hex')}`
          : await this.hashStored(session.storageKey, expected.algorithm);

      await this.forget(session);
      if (actual !== expected.value) {
        await this.store.delete(session.storageKey);
        throw new RegistryError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${expected.value}`, { digest: expected.value });
      }
      return { digest: expected.value, size: session.size, storageKey: session.storageKey };
    });
  }

  async cancel(id: string, repository: string, owner: string): Promise<void> {
    const session = await this.load(id, repository, owner);
    await this.discard(session);
  }

  /** Discards sessions past the time limit and frees their storage; returns how many. */
  async sweepExpired(batch = 100): Promise<number> {
    const ids = await this.sessions.startedBefore(this.now() - this.limits.timeLimitMs, batch);
    for (const id of ids) {
      const session = await this.sessions.get(id);
      if (session && !this.busy.has(id)) {
        await this.expire(session);
        this.logger.info({ uploadId: id, repository: session.repository }, 'expired upload session discarded');
      } else if (!session) {
        await this.sessions.delete(id);
      }
    }
    return ids.length;
  }

  /** Loads a live session of this repository and owner; expired sessions are discarded here. Another user's session answers as unknown. */
  private async load(id: string, repository: string, owner: string): Promise<UploadSession> {
    const session = await this.sessions.get(id);
    if (!session || session.repository !== repository || (session.owner ?? '') !== owner) {
      if (!session && (await this.sessions.wasExpired(id))) throw this.timedOut();
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is unknown to ${repository}`);
    }
    if (this.now() - session.startedAt > this.limits.timeLimitMs) {
      await this.expire(session);
      throw this.timedOut();
    }
    return session;
  }

  private async exclusively<T>(id: string, work: () => Promise<T>): Promise<T> {
    if (this.busy.has(id)) throw new RegistryError('BLOB_UPLOAD_INVALID', `another request is writing to upload ${id}`);
    this.busy.add(id);
    try {
      return await work();
    } finally {
      this.busy.delete(id);
    }
  }

  private async hashStored(key: string, algorithm: 'sha256' | 'sha512'): Promise<string> {
    const hash = createHash(algorithm);
    await pipeline(await this.store.read(key), hash);
    return `${algorithm}:${hash.digest('hex')}`;
  }

  private async expire(session: UploadSession): Promise<void> {
    await this.sessions.markExpired(session.id);
    await this.discard(session);
  }

  /** Frees everything a session holds in storage and forgets it. */
  private async discard(session: UploadSession): Promise<void> {
    await this.forget(session);
    await this.store.abortMultipart(session.storageKey, session.multipartId).catch((err) => {
      this.logger.warn({ err, uploadId: session.id }, 'could not abort multipart upload');
    });
  }

  private async forget(session: UploadSession): Promise<void> {
    this.hashes.delete(session.id);
    await this.sessions.delete(session.id, session.owner);
    if (session.tail) await this.store.delete(session.tail.key);
  }

  private tooLarge(): RegistryError {
    return new RegistryError('SIZE_INVALID', `blob exceeds the size limit of ${this.limits.maxBlobSize} bytes`, { limit: this.limits.maxBlobSize }, 413);
  }

  private timedOut(): RegistryError {
    const seconds = Math.round(this.limits.timeLimitMs / 1000);
    return new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload timed out: sessions must finish within ${seconds} seconds of their start`, { limitSeconds: seconds });
  }
}

/** The items of `source` until `ms` have passed; then `error()` is thrown, without waiting for the next item. */
async function* untilDeadline<T>(source: AsyncIterable<T>, ms: number, error: () => Error): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), Math.max(ms, 0));
  });
  expired.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), expired]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    clearTimeout(timer);
    void iterator.return?.()?.catch?.(() => undefined);
  }
}
