const MAX_ENTRIES = 100_000;

/**
 * When this gateway last confirmed a cached tag with its upstream: within
 * the upstream's TTL the tag is served without asking. Kept in memory, per
 * gateway: a restart or another replica revalidates once more, never less.
 */
export class TagFreshness {
  private readonly checked = new Map<string, number>();

  fresh(name: string, tag: string, ttlMs: number): boolean {
    const at = this.checked.get(`${name}:${tag}`);
    return at !== undefined && Date.now() - at < ttlMs;
  }

  mark(name: string, tag: string): void {
    if (this.checked.size >= MAX_ENTRIES) this.checked.clear();
    this.checked.set(`${name}:${tag}`, Date.now());
  }
}
