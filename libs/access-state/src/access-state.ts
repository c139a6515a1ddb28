import type { AccessSubject } from './names';

/** Written by auth (revocations) and metadata (access changes). */
export interface AccessStateWriter {
  /** The token stops working on every gateway; remembered until it would have expired anyway. */
  revokeToken(tokenId: string, expiresAt: Date): Promise<void>;
  /** Registry tokens of this subject issued before now stop working on every gateway ("content:" subjects: cached content does). */
  accessChanged(subject: AccessSubject): Promise<void>;
  close(): Promise<void>;
}

export interface AccessSnapshot {
  /** Ids of revoked tokens that have not expired yet. */
  revokedTokens: string[];
  /** Subject -> when its access last changed (epoch ms). */
  accessEpochs: Map<string, number>;
}

/**
 * Callbacks of a watch. A snapshot is delivered at start and again after every
 * reconnection (changes made while disconnected arrive that way), so callers
 * merge it into what they know rather than replace it.
 */
export interface AccessStateListener {
  onSnapshot(snapshot: AccessSnapshot): void;
  onRevoked(tokenId: string): void;
  onAccessChanged(subject: string, epochMs: number): void;
}

/** Read by the gateway. */
export interface AccessStateReader {
  /** The current state, read once. */
  load(): Promise<AccessSnapshot>;
  /** Subscribes, then delivers the first snapshot; resolves when both are done. Call once. */
  watch(listener: AccessStateListener): Promise<void>;
  close(): Promise<void>;
}

export interface ReaderOptions {
  /** Name of the reader's connections (Redis CLIENT SETNAME, PostgreSQL application_name), to find them in the server's client list. */
  clientName?: string;
}

export const DEFAULT_CLIENT_NAME = 'ocireg-access-state';

/** Waits between reconnection attempts: 100 ms, doubling, at most 5 s. */
export function* backoff(): Generator<number> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) yield delay;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
