import { describe, expect, it } from 'vitest';
import { evaluateRetention, type EvaluatedRule, type ManifestFact, type TagFact } from './evaluate';
import { generateHistory, HISTORY_RULES, oracle } from './retention-history';

const now = new Date('2026-12-01T00:00:00Z');
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = (c: string, ageDays: number, extra: Partial<ManifestFact> = {}): ManifestFact => ({ digest: digest(c), createdAt: daysAgo(ageDays), lastPulledAt: null, size: 100, subject: null, children: [], blobs: [], ...extra });
const tag = (name: string, c: string, ageDays: number, pulledDaysAgo?: number): TagFact => ({ name, digest: digest(c), updatedAt: daysAgo(ageDays), lastPulledAt: pulledDaysAgo === undefined ? null : daysAgo(pulledDaysAgo) });
const rule = (id: string, kind: EvaluatedRule['kind'], extra: Partial<EvaluatedRule> = {}): EvaluatedRule => ({ id, kind, pattern: '*', count: 0, days: 0, ...extra });

describe('evaluateRetention', () => {
  it('keeps the N most recently pushed matching tags and deletes the rest, saying which rule keeps each', () => {
    const tags = [tag('a', 'a', 1), tag('b', 'b', 2), tag('c', 'c', 3), tag('d', 'd', 4)];
    const result = evaluateRetention({ tags, manifests: ['a', 'b', 'c', 'd'].map((c) => manifest(c, 5)), rules: [rule('two', 'keep-latest', { count: 2 })], now });
    expect(result.deletedTags.map((t) => t.name)).toEqual(['c', 'd']);
    expect(result.tags.find((t) => t.name === 'a')).toMatchObject({ delete: false, keptBy: ['two'], why: expect.stringContaining('2 most recently pushed') });
    expect(result.deletedManifests.map((m) => m.digest).sort()).toEqual([digest('c'), digest('d')]);
    expect(result.bytes).toBe(200);
  });

  it('keeps tags pushed or pulled within D days, and protected tags always', () => {
    const tags = [tag('old', 'a', 40), tag('pulled', 'b', 40, 2), tag('new', 'c', 1), tag('v1', 'd', 400), tag('latest', 'd', 400)];
    const result = evaluateRetention({ tags, manifests: ['a', 'b', 'c', 'd'].map((c) => manifest(c, 400)), rules: [rule('recent', 'keep-recent', { days: 7 }), rule('rel', 'protect', { pattern: 'v*' }), rule('l', 'protect', { pattern: 'latest' })], now });
    expect(result.deletedTags.map((t) => t.name)).toEqual(['old']);
    expect(result.tags.find((t) => t.name === 'v1')!.keptBy).toEqual(['rel']);
    expect(result.tags.find((t) => t.name === 'pulled')!.keptBy).toEqual(['recent']);
  });

  it('deletes no tag when no tag-selecting rule applies (protect or delete-untagged alone)', () => {
    const tags = [tag('x', 'a', 400)];
    for (const rules of [[rule('p', 'protect', { pattern: 'v*' })], [rule('u', 'delete-untagged', { days: 1 })], []]) {
      const result = evaluateRetention({ tags, manifests: [manifest('a', 400)], rules, now });
      expect(result.deletedTags).toEqual([]);
      expect(result.deletedManifests).toEqual([]);
    }
  });

  it('matches nothing with an empty or malformed pattern: such a keep rule keeps nothing, such a protect protects nothing', () => {
    const tags = [tag('a', 'a', 1), tag('b', 'b', 2)];
    const result = evaluateRetention({ tags, manifests: [manifest('a', 1), manifest('b', 2)], rules: [rule('bad', 'keep-latest', { pattern: '', count: 10 }), rule('worse', 'protect', { pattern: 'a[' })], now });
    expect(result.deletedTags.map((t) => t.name)).toEqual(['a', 'b']);
  });

  it('deletes untagged manifests older than D days by push and by pull, and keeps one whose tags go when it is recent', () => {
    const manifests = [manifest('a', 40), manifest('b', 40, { lastPulledAt: daysAgo(1) }), manifest('c', 1), manifest('d', 2)];
    const result = evaluateRetention({ tags: [tag('old', 'd', 40)], manifests, rules: [rule('u', 'delete-untagged', { days: 7 }), rule('k', 'keep-latest', { pattern: 'none', count: 1 })], now });
    expect(result.deletedTags.map((t) => t.name)).toEqual(['old']);
    expect(result.deletedManifests.map((m) => m.digest)).toEqual([digest('a')]);
  });

  it('lets referrers and index children follow their subject and parent', () => {
    const manifests = [
      manifest('i', 100, { children: [digest('c')] }),
      manifest('c', 100, { blobs: ['sha256:layer'] }),
      manifest('s', 100, { subject: digest('i') }),
      manifest('k', 100),
      manifest('t', 100, { subject: digest('k') }),
    ];
    const blobs = new Map([['sha256:layer', { size: 1000, sharedElsewhere: false }]]);
    const result = evaluateRetention({ tags: [tag('gone', 'i', 100), tag('stays', 'k', 1)], manifests, blobs, rules: [rule('r', 'keep-recent', { days: 7 })], now });
    expect(result.deletedManifests.map((m) => m.digest).sort()).toEqual([digest('c'), digest('i'), digest('s')].sort());
    expect(result.deletedManifests.find((m) => m.digest === digest('s'))!.why).toMatch(/subject/);
    expect(result.bytes).toBe(300 + 1000);
  });

  it('counts no blob a kept manifest or another package still references', () => {
    const manifests = [manifest('a', 100, { blobs: ['sha256:shared', 'sha256:elsewhere', 'sha256:own'] }), manifest('b', 1, { blobs: ['sha256:shared'] })];
    const blobs = new Map([
      ['sha256:shared', { size: 1000, sharedElsewhere: false }],
      ['sha256:elsewhere', { size: 2000, sharedElsewhere: true }],
      ['sha256:own', { size: 4000, sharedElsewhere: false }],
    ]);
    const result = evaluateRetention({ tags: [tag('old', 'a', 100), tag('new', 'b', 1)], manifests, blobs, rules: [rule('r', 'keep-latest', { count: 1 })], now });
    expect(result.bytes).toBe(100 + 4000);
  });

  it('agrees with an independent oracle over generated histories of hundreds of tags', () => {
    for (const seed of [1, 2, 3]) {
      const history = generateHistory({ tagCount: 600, manifestCount: 250, days: 60, now, seed });
      for (const rules of [HISTORY_RULES, HISTORY_RULES.slice(0, 1), HISTORY_RULES.slice(2, 4), HISTORY_RULES.slice(3)]) {
        const result = evaluateRetention({ ...history, rules, now });
        const expected = oracle(history, rules, now);
        expect(new Set(result.deletedTags.map((t) => t.name))).toEqual(expected.tags);
        expect(new Set(result.deletedManifests.map((m) => m.digest))).toEqual(expected.manifests);
        // No kept tag points to a deleted manifest.
        const deleted = new Set(result.deletedManifests.map((m) => m.digest));
        expect(result.tags.filter((t) => !t.delete && deleted.has(t.digest))).toEqual([]);
      }
      // The full rule set deletes some and keeps some: the comparison means something.
      const full = oracle(history, HISTORY_RULES, now);
      expect(full.tags.size).toBeGreaterThan(50);
      expect(full.tags.size).toBeLessThan(550);
      expect(full.manifests.size).toBeGreaterThan(5);
    }
  }, 60_000);
});
