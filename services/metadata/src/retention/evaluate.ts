import { matchesPattern } from './pattern';

/**
 * Retention's decision, as a pure function of what a package holds, the
 * rules that apply to it and the time: which tags and manifests go, and why
 * each kept tag stays. The database is read elsewhere (retention-facts.ts);
 * nothing here does I/O, so the preview and the apply decide alike.
 *
 * Semantics (docs/lifecycle-retention.md):
 * - Tags are considered only when a tag-selecting rule applies (keep-latest or
 *   keep-recent); then a tag goes only when NO rule keeps it. Protected-pattern
 *   rules keep; alone they delete nothing. With no tag-selecting rule every tag stays.
 * - A manifest goes only when no kept tag points to it and no rule keeps it:
 *   - children of an index and referrers (signatures, SBOMs: a manifest whose
 *     subject is in the package) follow what they belong to: kept when one of
 *     their parents or their subject is kept, gone with them otherwise;
 *   - a top-level manifest whose tags all go is deleted, unless a
 *     delete-untagged rule keeps it (pushed or pulled within its days);
 *   - a top-level manifest that had no tag is deleted only by a delete-untagged
 *     rule (older than its days by push and by pull); without such a rule it is
 *     left to the garbage collector's own grace period.
 */

export type RuleKind = 'keep-latest' | 'keep-recent' | 'delete-untagged' | 'protect';
export const RULE_KINDS: readonly RuleKind[] = ['keep-latest', 'keep-recent', 'delete-untagged', 'protect'];

export interface EvaluatedRule {
  id: string;
  kind: RuleKind;
  /** Tags it looks at (keep-latest, keep-recent, protect); unused by delete-untagged. */
  pattern: string;
  /** keep-latest: how many of the most recently pushed matching tags it keeps. */
  count: number;
  /** keep-recent: pushed or pulled within this many days; delete-untagged: untagged manifests older than this. */
  days: number;
}

export interface TagFact {
  name: string;
  digest: string;
  /** When the tag was last pushed or moved (tags.updated_at). */
  updatedAt: Date;
  lastPulledAt: Date | null;
}

export interface ManifestFact {
  digest: string;
  createdAt: Date;
  lastPulledAt: Date | null;
  size: number;
  /** The manifest it refers to (OCI subject), when any. */
  subject: string | null;
  /** Manifests it references (an index's children). */
  children: readonly string[];
  /** Blobs it references. */
  blobs: readonly string[];
}

export interface BlobFact {
  size: number;
  /** Referenced by a manifest of another package in the workspace: deleting here frees nothing. */
  sharedElsewhere: boolean;
}

export interface EvaluationInput {
  tags: readonly TagFact[];
  manifests: readonly ManifestFact[];
  blobs?: ReadonlyMap<string, BlobFact>;
  rules: readonly EvaluatedRule[];
  now: Date;
}

export interface TagVerdict {
  name: string;
  digest: string;
  updatedAt: Date;
  delete: boolean;
  /** Ids of the rules that keep the tag (empty for a deleted tag, or when no tag-selecting rule applies). */
  keptBy: string[];
  /** In words: which rules keep it, or why it goes. */
  why: string;
}

export interface ManifestVerdict {
  digest: string;
  size: number;
  why: string;
}

export interface Evaluation {
  tags: TagVerdict[];
  deletedTags: TagVerdict[];
  deletedManifests: ManifestVerdict[];
  /** Manifest bytes plus the bytes of blobs only deleted manifests reference (approximate: see the docs). */
  bytes: number;
}

const DAY_MS = 86_400_000;

export function describeRule(rule: EvaluatedRule): string {
  switch (rule.kind) {
    case 'keep-latest':
      return `keep the ${rule.count} most recently pushed tags matching ${rule.pattern}`;
    case 'keep-recent':
      return `keep tags matching ${rule.pattern} pushed or pulled within ${rule.days} days`;
    case 'delete-untagged':
      return `delete untagged manifests after ${rule.days} days`;
    case 'protect':
      return `always keep tags matching ${rule.pattern}`;
  }
}

export function evaluateRetention(input: EvaluationInput): Evaluation {
  const { rules, now } = input;
  const tagRules = rules.filter((r) => r.kind === 'keep-latest' || r.kind === 'keep-recent');
  const untaggedRules = rules.filter((r) => r.kind === 'delete-untagged');

  // Tags: which rules keep each.
  const keepers = new Map<string, string[]>(input.tags.map((t) => [t.name, []]));
  for (const rule of rules) {
    if (rule.kind === 'protect' || rule.kind === 'keep-recent') {
      const since = now.getTime() - rule.days * DAY_MS;
      for (const tag of input.tags) {
        if (!matchesPattern(rule.pattern, tag.name)) continue;
        const recent = rule.kind === 'protect' || tag.updatedAt.getTime() >= since || (tag.lastPulledAt !== null && tag.lastPulledAt.getTime() >= since);
        if (recent) keepers.get(tag.name)!.push(rule.id);
      }
    } else if (rule.kind === 'keep-latest' && rule.count > 0) {
      // Sorted by a precomputed key (push time, then name): 100,000 tags sort in well under a second.
      const matching = input.tags.filter((t) => matchesPattern(rule.pattern, t.name)).map((t) => ({ t, at: t.updatedAt.getTime() }));
      matching.sort((a, b) => b.at - a.at || (a.t.name < b.t.name ? -1 : a.t.name > b.t.name ? 1 : 0));
      for (const { t } of matching.slice(0, rule.count)) keepers.get(t.name)!.push(rule.id);
    }
  }
  const described = new Map(rules.map((r) => [r.id, `${r.id} (${describeRule(r)})`]));
  const tags: TagVerdict[] = input.tags.map((tag) => {
    const keptBy = tagRules.length === 0 ? [] : keepers.get(tag.name)!;
    const remove = tagRules.length > 0 && keptBy.length === 0;
    const why = tagRules.length === 0 ? 'kept: no rule selects tags for deletion' : remove ? 'no rule keeps it' : `kept by ${keptBy.map((id) => described.get(id)!).join('; ')}`;
    return { name: tag.name, digest: tag.digest, updatedAt: tag.updatedAt, delete: remove, keptBy: [...keptBy], why };
  });

  // Manifests: roots, then what follows them.
  const byDigest = new Map(input.manifests.map((m) => [m.digest, m]));
  const parents = new Map<string, string[]>();
  for (const m of input.manifests) for (const child of m.children) if (byDigest.has(child) && child !== m.digest) (parents.get(child) ?? parents.set(child, []).get(child)!).push(m.digest);
  const dependent = (m: ManifestFact) => parents.has(m.digest) || (m.subject !== null && m.subject !== m.digest && byDigest.has(m.subject));
  const taggedBefore = new Set(input.tags.map((t) => t.digest));
  const keptTagged = new Set(tags.filter((t) => !t.delete).map((t) => t.digest));
  const untaggedKeeps = (m: ManifestFact) =>
    untaggedRules.some((r) => {
      const since = now.getTime() - r.days * DAY_MS;
      return m.createdAt.getTime() >= since || (m.lastPulledAt !== null && m.lastPulledAt.getTime() >= since);
    });

  const kept = new Set<string>();
  const queue: string[] = [];
  const keep = (digest: string) => {
    if (!kept.has(digest) && byDigest.has(digest)) {
      kept.add(digest);
      queue.push(digest);
    }
  };
  for (const m of input.manifests) {
    if (keptTagged.has(m.digest)) keep(m.digest);
    else if (dependent(m)) continue;
    else if (taggedBefore.has(m.digest) ? untaggedKeeps(m) : untaggedRules.length === 0 || untaggedKeeps(m)) keep(m.digest);
  }
  const referrers = new Map<string, string[]>();
  for (const m of input.manifests) if (m.subject !== null && byDigest.has(m.subject)) (referrers.get(m.subject) ?? referrers.set(m.subject, []).get(m.subject)!).push(m.digest);
  while (queue.length > 0) {
    const digest = queue.pop()!;
    for (const child of byDigest.get(digest)!.children) keep(child);
    for (const referrer of referrers.get(digest) ?? []) keep(referrer);
  }

  const deletedManifests: ManifestVerdict[] = [];
  for (const m of input.manifests) {
    if (kept.has(m.digest)) continue;
    const why = parents.has(m.digest)
      ? 'every index that references it goes'
      : m.subject !== null && byDigest.has(m.subject)
        ? `its subject ${m.subject} goes`
        : taggedBefore.has(m.digest)
          ? 'every tag pointing to it goes and no rule keeps it'
          : `untagged, pushed and pulled longer ago than every delete-untagged rule allows`;
    deletedManifests.push({ digest: m.digest, size: m.size, why });
  }

  // Bytes: deleted manifests, and blobs that only deleted manifests reference.
  let bytes = deletedManifests.reduce((sum, m) => sum + m.size, 0);
  if (input.blobs) {
    const keptBlobs = new Set<string>();
    for (const digest of kept) for (const blob of byDigest.get(digest)!.blobs) keptBlobs.add(blob);
    const counted = new Set<string>();
    for (const m of deletedManifests) {
      for (const blob of byDigest.get(m.digest)!.blobs) {
        const fact = input.blobs.get(blob);
        if (!fact || fact.sharedElsewhere || keptBlobs.has(blob) || counted.has(blob)) continue;
        counted.add(blob);
        bytes += fact.size;
      }
    }
  }
  return { tags, deletedTags: tags.filter((t) => t.delete), deletedManifests, bytes };
}
