import { performance } from 'node:perf_hooks';

/**
 * When content last went away in each workspace, as this gateway heard it:
 * metadata announces every manifest deletion, blob unlink and garbage
 * collection round (a "content:<workspace>" change through the access
 * state, so every replica hears it within a second). The gateway's caches of
 * what a repository holds (BlobStats, ManifestCache) serve an entry only if
 * it was read after the last such announcement, so a HEAD never answers 200
 * for a blob or manifest that is gone. Times are this process's monotonic
 * clock: an entry counts from when its lookup began, not when it was stored.
 */
export class ContentEpochs {
  private readonly removedAt = new Map<string, number>();
  /** Everything read before this may be stale (announcements were missed while reconnecting). */
  private everythingBefore = 0;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  now(): number {
    return this.clock();
  }

  /** Content of the workspace was removed: what was read about it until now is stale. */
  removed(workspace: string): void {
    this.removedAt.set(workspace, this.clock());
  }

  /** Announcements may have been missed (the access state reconnected): nothing read until now is trusted. */
  resync(): void {
    this.everythingBefore = this.clock();
  }

  /** Whether what was read about `repository` at `readAt` (a now() value) may still be served. */
  fresh(repository: string, readAt: number): boolean {
    const workspace = repository.slice(0, repository.indexOf('/'));
    return readAt > this.everythingBefore && readAt > (this.removedAt.get(workspace) ?? -Infinity);
  }
}
