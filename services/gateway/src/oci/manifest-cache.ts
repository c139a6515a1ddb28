import type { ContentEpochs } from './content-epochs';

/** A manifest as the gateway serves it. */
export interface CachedManifest {
  digest: string;
  mediaType: string;
  content: Buffer;
}

const TTL_MS = 30_000;
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * Manifests by repository and digest: their bytes never change, so a pull by
 * digest (what clients do after resolving a tag) is served from memory for
 * 30 seconds. Bounded in bytes; this gateway's own deletions drop entries at
 * once, and every replica's when metadata announces a removal in the
 * workspace (ContentEpochs).
 */
export class ManifestCache {
  private readonly entries = new Map<string, { manifest: CachedManifest; until: number; readAt: number }>();
  private bytes = 0;

  constructor(private readonly epochs: ContentEpochs) {}

  /** When a lookup whose answer may be put() begins. */
  now(): number {
    return this.epochs.now();
  }

  get(repository: string, digest: string): CachedManifest | undefined {
    const key = `${repository}@${digest}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > Date.now() && this.epochs.fresh(repository, entry.readAt)) return entry.manifest;
    this.remove(key);
    return undefined;
  }

  /** Keeps a manifest read by a lookup that began at `readAt` (a now() value). */
  put(repository: string, manifest: CachedManifest, readAt: number): void {
    if (manifest.content.length > MAX_BYTES / 16) return;
    const key = `${repository}@${manifest.digest}`;
    this.remove(key);
    while (this.bytes + manifest.content.length > MAX_BYTES && this.entries.size > 0) this.remove(this.entries.keys().next().value!);
    this.entries.set(key, { manifest, until: Date.now() + TTL_MS, readAt });
    this.bytes += manifest.content.length;
  }

  forget(repository: string, digest: string): void {
    this.remove(`${repository}@${digest}`);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.manifest.content.length;
  }
}
