import { createHash, type Hash } from 'node:crypto';

interface Running {
  hash: Hash;
  /** Bytes the hash has seen: the session's committed size when the last append ended. */
  size: number;
  touchedAt: number;
}

const MAX_SESSIONS = 10_000;

/**
 * The sha256 of each upload session's bytes, kept while they stream through
 * this gateway, so every byte is hashed once, as it arrives. A session whose
 * appends reach several gateways (or a restarted one) has no running hash
 * here; blob-upload then reads the bytes back once to verify them.
 */
export class RunningHashes {
  private readonly sessions = new Map<string, Running>();

  constructor(private readonly maxAgeMs: number) {}

  /** The hash to continue at `size` committed bytes (a fresh one at 0); undefined when this gateway did not see them all. */
  take(uploadId: string, size: number): Hash | undefined {
    const running = this.sessions.get(uploadId);
    this.sessions.delete(uploadId);
    if (running && running.size === size) return running.hash;
    return size === 0 ? createHash('sha256') : undefined;
  }

  /** Keeps a hash that has seen exactly `size` bytes, for the session's next append or its completion. */
  keep(uploadId: string, hash: Hash | undefined, size: number): void {
    if (!hash) return;
    this.sweep();
    this.sessions.set(uploadId, { hash, size, touchedAt: Date.now() });
  }

  /** "sha256:<hex>" of the bytes this gateway hashed for the session, and how many; the session's hash is then done. */
  finish(uploadId: string): { digest: string; size: number } | undefined {
    const running = this.sessions.get(uploadId);
    this.sessions.delete(uploadId);
    return running ? { digest: `sha256:${running.hash.digest('hex')}`, size: running.size } : undefined;
  }

  forget(uploadId: string): void {
    this.sessions.delete(uploadId);
  }

  /** Drops hashes of sessions past their time limit, and the oldest beyond a bound. */
  private sweep(): void {
    const cutoff = Date.now() - this.maxAgeMs;
    for (const [id, running] of this.sessions) {
      if (running.touchedAt < cutoff || this.sessions.size >= MAX_SESSIONS) this.sessions.delete(id);
      else break; // insertion order is oldest first
    }
  }
}
