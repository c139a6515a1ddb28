import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';
import { parseDigest } from '@ocireg/oci';
import type { BlobStore, UploadState } from '@ocireg/storage';
import { HeldLease } from './held-lease';
import type { SessionStore, UploadSession } from './sessions';

export interface UploadLimits {
  maxBlobSize: number;
  timeLimitMs: number;
  /** Sessions one user may have open at once. */
  maxSessionsPerUser: number;
  /** How long a write lease runs unless its holder renews it (never past the session's time limit while appending). */
  leaseMs: number;
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
  /** The sealed upload, kept until the caller confirms the placement (BlobStore.confirmPlaced). */
  sealedKey: string;
}

/** What a writer needs to append to a session: where its bytes go, and the limits that apply. */
export interface AppendPlan {
  leaseId: string;
  state: UploadState;
  size: number;
  maxSize: number;
  deadlineMs: number;
  /** How long the lease runs from when it was taken: renew it (renewAppend) before then, or stop writing. */
  leaseMs: number;
}

/**
 * Upload sessions: who owns them, their storage state, their size and time
 * limits, one writer at a time (a lease), and their end as a verified blob.
 * The bytes themselves never pass through here: a writer (the gateway)
 * takes the lease with beginAppend, streams into the store while it renews
 * the lease, and commits the new state. The lease is short, so the session
 * of a writer that died (or of a blob-upload that died completing it) is
 * free again within seconds. Sessions are kept in Redis or files, so any
 * replica, or a restarted one, continues them.
 */
export class UploadService {
  private readonly store: BlobStore;
  private readonly sessions: SessionStore;
  private readonly logger: Logger;
  private readonly limits: UploadLimits;
  private readonly now: () => number;

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
    const session: UploadSession = { id, repository, owner, state: await this.store.createUpload(id), startedAt: this.now() };
    await this.sessions.save(session);
    return session;
  }

  async status(id: string, repository: string, owner: string): Promise<number> {
    return (await this.load(id, repository, owner)).state.size;
  }

  /** Takes the session's lease for one append: the caller writes (renewing the lease), then commits or releases. */
  async beginAppend(id: string, repository: string, owner: string, expectedOffset: number | undefined): Promise<AppendPlan> {
    const session = await this.load(id, repository, owner);
    if (expectedOffset !== undefined && expectedOffset !== session.state.size) {
      throw new RegistryError('RANGE_INVALID', `upload is at offset ${session.state.size}, the chunk starts at ${expectedOffset}`, { offset: session.state.size }, 416);
    }
    const deadlineMs = this.deadline(session);
    const leaseId = randomBytes(16).toString('hex');
    const leaseMs = Math.min(this.limits.leaseMs, deadlineMs - this.now());
    await this.takeLease(id, leaseId, leaseMs);
    return { leaseId, state: session.state, size: session.state.size, maxSize: this.limits.maxBlobSize, deadlineMs, leaseMs };
  }

  /** Extends an append's lease for its holder; `held: false` when it is not held any more (lapsed, or the session ended). */
  async renewAppend(id: string, leaseId: string): Promise<{ held: boolean; leaseMs: number }> {
    const session = await this.sessions.get(id);
    const leaseMs = session ? Math.min(this.limits.leaseMs, this.deadline(session) - this.now()) : 0;
    const held = leaseMs > 0 && (await this.sessions.renewLease(id, leaseId, leaseMs));
    return { held, leaseMs: held ? leaseMs : 0 };
  }

  /** Records the state an append left and gives the lease back; returns the committed size. */
  async commitAppend(id: string, leaseId: string, state: UploadState): Promise<number> {
    const session = await this.sessions.get(id);
    if (!session) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is not being written with this lease (it timed out or was cancelled)`);
    if (this.now() > this.deadline(session)) throw this.timedOut();
    if (!(await this.sessions.holdsLease(id, leaseId))) {
      // The append's bytes may have been cut off by another writer since: they are not the session's. The client resumes from the committed offset.
      throw new RegistryError('UNAVAILABLE', `the write lease of upload ${id} lapsed before the append was committed; resume from offset ${session.state.size}`, { offset: session.state.size, retryAfterSeconds: 1 });
    }
    if (state.backend !== session.state.backend || state.key !== session.state.key || state.size < session.state.size || state.size > this.limits.maxBlobSize) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `the state committed for upload ${id} does not continue it`);
    }
    await this.sessions.save({ ...session, state });
    await this.sessions.releaseLease(id, leaseId);
    return state.size;
  }

  async releaseAppend(id: string, leaseId: string): Promise<void> {
    await this.sessions.releaseLease(id, leaseId);
  }

  /**
   * Makes the session's bytes a blob: sealed, checked against `digest`
   * (against the writer's digest of every byte when it has one, else by
   * reading them back), then placed.
   */
  async complete(id: string, repository: string, owner: string, digest: string, computed?: { digest: string; size: number }): Promise<CompletedBlob> {
    const expected = parseDigest(digest);
    const session = await this.load(id, repository, owner);
    // Nobody may write while it completes: the lease is renewed while the bytes are sealed and checked.
    const leaseId = randomBytes(16).toString('hex');
    await this.takeLease(id, leaseId, this.limits.leaseMs);
    const lease = new HeldLease(this.sessions, id, leaseId, this.limits.leaseMs, this.logger);
    try {
      const sealedKey = await this.store.sealUpload(session.state);
      const trusted = computed && computed.size === session.state.size && parseDigest(computed.digest).algorithm === expected.algorithm;
      const actual = trusted ? computed.digest : await this.hashStored(sealedKey, expected.algorithm);
      // Still the only writer: had the lease lapsed, another writer could have changed the bytes just checked.
      await lease.confirm();
      if (actual !== expected.value) {
        await this.discard(session);
        throw new RegistryError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${expected.value}`, { digest: expected.value });
      }
      const storageKey = await this.store.placeBlob(sealedKey, expected.value);
      await this.sessions.delete(id, owner);
      return { digest: expected.value, size: session.state.size, storageKey, sealedKey };
    } finally {
      await lease.release();
    }
  }

  async cancel(id: string, repository: string, owner: string): Promise<void> {
    await this.discard(await this.load(id, repository, owner));
  }

  /** Discards sessions past the time limit and frees their storage; returns how many. */
  async sweepExpired(batch = 100): Promise<number> {
    const ids = await this.sessions.startedBefore(this.now() - this.limits.timeLimitMs, batch);
    for (const id of ids) {
      const session = await this.sessions.get(id);
      if (session) {
        await this.expire(session);
        this.logger.info({ uploadId: id, repository: session.repository }, 'expired upload session discarded');
      } else {
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

  /** Takes the session's write lease, or says (retryably) how long another writer still holds it. */
  private async takeLease(id: string, leaseId: string, ttlMs: number): Promise<void> {
    const attempt = await this.sessions.acquireLease(id, leaseId, ttlMs);
    if (!attempt.acquired) {
      const seconds = Math.max(1, Math.ceil(attempt.heldForMs / 1000));
      throw new RegistryError('TOOMANYREQUESTS', `another request is writing to upload ${id}; try again in ${seconds} s`, { retryAfterSeconds: seconds });
    }
  }

  private deadline(session: UploadSession): number {
    return session.startedAt + this.limits.timeLimitMs;
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
    await this.sessions.delete(session.id, session.owner);
    await this.store.abortUpload(session.state).catch((err: unknown) => {
      this.logger.warn({ err, uploadId: session.id }, 'could not free the storage of an upload');
    });
  }

  private timedOut(): RegistryError {
    const seconds = Math.round(this.limits.timeLimitMs / 1000);
    return new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload timed out: sessions must finish within ${seconds} seconds of their start`, { limitSeconds: seconds });
  }
}
