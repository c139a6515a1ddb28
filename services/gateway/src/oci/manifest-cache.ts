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
 * 30 seconds. Bounded in bytes; this gateway's own deletions drop entries at once.
 */
export class ManifestCache {
  private readonly entries = new Map<string, { manifest: CachedManifest; until: number }>();
  private bytes = 0;

  get(repository: string, digest: string): CachedManifest | undefined {
    const key = `${repository}@${digest}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > Date.now()) return entry.manifest;
    this.remove(key);
    return undefined;
  }

  put(repository: string, manifest: CachedManifest): void {
    if (manifest.content.length > MAX_BYTES / 16) return;
    const key = `${repository}@${manifest.digest}`;
    this.remove(key);
    while (this.bytes + manifest.content.length > MAX_BYTES && this.entries.size > 0) this.remove(this.entries.keys().next().value!);
    this.entries.set(key, { manifest, until: Date.now() + TTL_MS });
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
