import type { EvaluatedRule, ManifestFact, TagFact } from './evaluate';

/**
 * A generated package history for retention tests and the benchmark (test
 * tooling: the service never imports it): tags with pushed and pulled times,
 * manifests (some untagged, some indexes with children, some referrers), and
 * an independent oracle of what the rules keep, written as plainly as the
 * docs state them (ranks counted, not sorted; keeping as a recursive question).
 */

export interface History {
  tags: TagFact[];
  manifests: ManifestFact[];
}

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const hex = (n: number, salt: string) => `sha256:${(salt + n.toString(16)).padStart(64, '0').slice(-64)}`;

/** `tagCount` tags over `manifestCount` manifests within `days` days before `now`. */
export function generateHistory(options: { tagCount: number; manifestCount: number; days: number; now: Date; seed: number }): History {
  const random = seededRandom(options.seed);
  const at = (maxDaysAgo: number) => new Date(options.now.getTime() - Math.floor(random() * maxDaysAgo * DAY));
  const manifests: ManifestFact[] = [];
  for (let i = 0; i < options.manifestCount; i++) {
    const kind = random();
    const digest = hex(i, 'a');
    const prior = manifests.length > 0 ? manifests[Math.floor(random() * manifests.length)]!.digest : null;
    manifests.push({
      digest,
      createdAt: at(options.days),
      lastPulledAt: random() < 0.4 ? at(options.days) : null,
      size: 500 + Math.floor(random() * 2000),
      // About one in ten is a referrer (a signature) of an earlier manifest, one in ten an index over earlier ones.
      subject: kind < 0.1 && prior ? prior : null,
      children: kind >= 0.1 && kind < 0.2 && prior ? [prior] : [],
      blobs: [`sha256:${'b'.repeat(56)}${(i % 97).toString(16).padStart(8, '0')}`, hex(i, 'c')],
    });
  }
  const prefixes = ['v', 'dev-', 'pr-', 'latest', 'rc-', 'nightly-'];
  const tags: TagFact[] = [];
  for (let i = 0; i < options.tagCount; i++) {
    const prefix = prefixes[Math.floor(random() * prefixes.length)]!;
    const name = prefix === 'latest' && !tags.some((t) => t.name === 'latest') ? 'latest' : `${prefix === 'latest' ? 'x' : prefix}${i}`;
    tags.push({
      name,
      digest: manifests[Math.floor(random() * manifests.length)]!.digest,
      updatedAt: at(options.days),
      lastPulledAt: random() < 0.3 ? at(options.days) : null,
    });
  }
  return { tags, manifests };
}

/** The rules the generated-history tests apply. */
export const HISTORY_RULES: EvaluatedRule[] = [
  { id: 'latest-dev', kind: 'keep-latest', pattern: 'dev-*', count: 20, days: 0 },
  { id: 'latest-any', kind: 'keep-latest', pattern: '*', count: 15, days: 0 },
  { id: 'recent-pr', kind: 'keep-recent', pattern: 'pr-*', count: 0, days: 10 },
  { id: 'untagged', kind: 'delete-untagged', pattern: '', count: 0, days: 20 },
  { id: 'releases', kind: 'protect', pattern: 'v*', count: 0, days: 0 },
  { id: 'latest', kind: 'protect', pattern: 'latest', count: 0, days: 0 },
];

/** Glob to regular expression: the oracle's own matcher, independent of pattern.ts. */
function globRegex(pattern: string): RegExp | null {
  if (!/^[A-Za-z0-9_.\-*?]{1,128}$/.test(pattern)) return null;
  return new RegExp(`^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : /[A-Za-z0-9_]/.test(c) ? c : `\\${c}`)).join('')}$`);
}

/** What the rules delete, decided tag by tag and manifest by manifest. */
export function oracle(history: History, rules: readonly EvaluatedRule[], now: Date): { tags: Set<string>; manifests: Set<string> } {
  const matches = (pattern: string, name: string) => globRegex(pattern)?.test(name) ?? false;
  const pushedOrPulledWithin = (t: { updatedAt?: Date; createdAt?: Date; lastPulledAt: Date | null }, days: number) =>
    now.getTime() - (t.updatedAt ?? t.createdAt)!.getTime() <= days * DAY || (t.lastPulledAt !== null && now.getTime() - t.lastPulledAt.getTime() <= days * DAY);
  const selecting = rules.some((r) => r.kind === 'keep-latest' || r.kind === 'keep-recent');
  const isKeptTag = (tag: TagFact): boolean =>
    !selecting ||
    rules.some((r) => {
      if (r.kind === 'delete-untagged' || !matches(r.pattern, tag.name)) return false;
      if (r.kind === 'protect') return true;
      if (r.kind === 'keep-recent') return pushedOrPulledWithin(tag, r.days);
      // keep-latest: fewer than `count` matching tags are more recent (ties: the smaller name first).
      const newer = history.tags.filter((o) => matches(r.pattern, o.name) && (o.updatedAt > tag.updatedAt || (o.updatedAt.getTime() === tag.updatedAt.getTime() && o.name < tag.name))).length;
      return newer < r.count;
    });
  const deletedTags = new Set(history.tags.filter((t) => !isKeptTag(t)).map((t) => t.name));

  const present = new Set(history.manifests.map((m) => m.digest));
  const untaggedRules = rules.filter((r) => r.kind === 'delete-untagged');
  const memo = new Map<string, boolean>();
  const isKept = (m: ManifestFact, path: Set<string>): boolean => {
    if (memo.has(m.digest)) return memo.get(m.digest)!;
    if (path.has(m.digest)) return false;
    path.add(m.digest);
    const tags = history.tags.filter((t) => t.digest === m.digest);
    const parents = history.manifests.filter((p) => p.digest !== m.digest && p.children.includes(m.digest));
    const subject = m.subject !== null && m.subject !== m.digest && present.has(m.subject) ? history.manifests.find((s) => s.digest === m.subject)! : undefined;
    let kept: boolean;
    if (tags.some((t) => !deletedTags.has(t.name))) kept = true;
    else if (parents.length > 0 || subject) kept = parents.some((p) => isKept(p, path)) || (subject !== undefined && isKept(subject, path));
    else if (tags.length > 0) kept = untaggedRules.some((r) => pushedOrPulledWithin(m, r.days));
    else kept = untaggedRules.length === 0 || untaggedRules.some((r) => pushedOrPulledWithin(m, r.days));
    path.delete(m.digest);
    memo.set(m.digest, kept);
    return kept;
  };
  const deletedManifests = new Set(history.manifests.filter((m) => !isKept(m, new Set())).map((m) => m.digest));
  return { tags: deletedTags, manifests: deletedManifests };
}
