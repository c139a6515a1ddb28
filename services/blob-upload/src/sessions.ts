import type { UploadState } from '@ocireg/storage';

/** Everything needed to resume an upload after a restart of any blob-upload replica. */
export interface UploadSession {
  id: string;
  repository: string;
  /** The user who opened it: only they may write to it, complete or cancel it. */
  owner: string;
  /** Where its committed bytes are in storage (state.size of them). */
  state: UploadState;
  /** Epoch milliseconds. */
  startedAt: number;
}

/** The outcome of asking for a session's write lease: taken, or held by another for `heldForMs` more (unless renewed). */
export type LeaseAttempt = { acquired: true } | { acquired: false; heldForMs: number };

/**
 * Where sessions are kept, and the write lease that lets one writer at a
 * time append to a session: a lease runs for a given time unless renewed,
 * so a writer that died holds it no longer than that.
 */
export interface SessionStore {
  get(id: string): Promise<UploadSession | undefined>;
  save(session: UploadSession): Promise<void>;
  /** Forgets a session (`owner` when known, so it stops counting among the owner's open sessions). */
  delete(id: string, owner?: string): Promise<void>;
  /** How many sessions an owner has that started after `epochMs` and were not deleted. */
  countOpen(owner: string, startedAfterMs: number): Promise<number>;
  /** Ids of sessions started before `epochMs`, oldest first. */
  startedBefore(epochMs: number, limit: number): Promise<string[]>;
  /** Remembers for a while that a session ended by timing out, so a late client is told why. */
  markExpired(id: string): Promise<void>;
  wasExpired(id: string): Promise<boolean>;
  /** Takes the session's write lease for `ttlMs` unless another holder has it (then says for how long it still runs). */
  acquireLease(id: string, leaseId: string, ttlMs: number): Promise<LeaseAttempt>;
  /** Makes the lease run `ttlMs` from now if `leaseId` holds it; false (and nothing changes) otherwise. */
  renewLease(id: string, leaseId: string, ttlMs: number): Promise<boolean>;
  /** Whether `leaseId` holds the lease now. */
  holdsLease(id: string, leaseId: string): Promise<boolean>;
  /** Gives the lease back (only its holder can). */
  releaseLease(id: string, leaseId: string): Promise<void>;
}

