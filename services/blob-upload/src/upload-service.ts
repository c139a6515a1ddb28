import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '@ocireg/errors';
import type { Logger } from '@ocireg/logger';
import { parseDigest } from '@ocireg/oci';
import type { BlobStore, UploadState } from '@ocireg/storage';
import type { SessionStore, UploadSession } from './sessions';

export interface UploadLimits {
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
}

/**
 * Upload sessions: who owns them, their storage state, their size and time
 * limits, one writer at a time (a lease), and their end as a verified blob.
 * The bytes themselves never pass through here: a writer (the gateway)
 * takes the lease with beginAppend, streams into the store, and commits the
 * new state. Sessions are kept in Redis or files, so any replica, or a
 * restarted one, continues them.
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

  /** Takes the session's lease for one append: the caller writes, then commits or releases. */
  async beginAppend(id: string, repository: string, owner: string, expectedOffset: number | undefined): Promise<AppendPlan> {
    const session = await this.load(id, repository, owner);
    if (expectedOffset !== undefined && expectedOffset !== session.state.size) {
      throw new RegistryError('RANGE_INVALID', `upload is at offset ${session.state.size}, the chunk starts at ${expectedOffset}`, { offset: session.state.size }, 416);
    }
    const deadlineMs = session.startedAt + this.limits.timeLimitMs;
    const leaseId = randomBytes(16).toString('hex');
    // The lease lasts at most until the session's time limit: a writer that dies leaves no lock behind for longer.
    if (!(await this.sessions.acquireLease(id, leaseId, deadlineMs - this.now()))) {
      throw new RegistryError('BLOB_UPLOAD_INVALID', `another request is writing to upload ${id}`);
    }
    return { leaseId, state: session.state, size: session.state.size, maxSize: this.limits.maxBlobSize, deadlineMs };
  }

  /** Records the state an append left and gives the lease back; returns the committed size. */
  async commitAppend(id: string, leaseId: string, state: UploadState): Promise<number> {
    const session = await this.sessions.get(id);
    if (!session || !(await this.sessions.holdsLease(id, leaseId))) {
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} is not being written with this lease (it timed out or was cancelled)`);
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
    // Nobody may write while it completes.
    const leaseId = randomBytes(16).toString('hex');
    if (!(await this.sessions.acquireLease(id, leaseId, 10 * 60_000))) throw new RegistryError('BLOB_UPLOAD_INVALID', `another request is writing to upload ${id}`);
    try {
      const sealedKey = await this.store.sealUpload(session.state);
      const trusted = computed && computed.size === session.state.size && parseDigest(computed.digest).algorithm === expected.algorithm;
      const actual = trusted ? computed.digest : await this.hashStored(sealedKey, expected.algorithm);
      if (actual !== expected.value) {
        await this.discard(session);
        throw new RegistryError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${expected.value}`, { digest: expected.value });
      }
      const storageKey = await this.store.placeBlob(sealedKey, expected.value);
      await this.sessions.delete(id, owner);
      return { digest: expected.value, size: session.state.size, storageKey, sealedKey };
    } finally {
      await this.sessions.releaseLease(id, leaseId);
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
