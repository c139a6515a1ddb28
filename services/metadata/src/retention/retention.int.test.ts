import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { RegistryError } from '@ocireg/errors';
import type { MetadataModel } from '../metadata-model';
import { digestOf, TEST_ORIGIN, unique, withTestbed, world } from '../metadata-testbed';
import { Retention } from './retention';
import { generateHistory, HISTORY_RULES, oracle, type History } from './retention-history';
import { RetentionRules, type PackagePath } from './rules';

const IMAGE = 'application/vnd.oci.image.manifest.v1+json';

/** Writes a generated history straight into the tables, with its times. */
export async function insertHistory(pool: Pool, repository: string, history: History): Promise<void> {
  const blobs = new Map<string, number>();
  for (const m of history.manifests) for (const b of m.blobs) blobs.set(b, 1000 + (parseInt(b.slice(-4), 16) % 5000));
  await pool.query(
    `INSERT INTO blobs (digest, size, storage_key) SELECT d, s, 'blobs/' || d FROM unnest($1::text[], $2::bigint[]) AS t(d, s) ON CONFLICT DO NOTHING`,
    [[...blobs.keys()], [...blobs.values()]],
  );
  await pool.query(
    `INSERT INTO manifests (repository, digest, media_type, content, size, created_at, last_pulled_at, subject_digest)
     SELECT $1, d, $2, convert_to(d, 'UTF8'), s, c, p, sub FROM unnest($3::text[], $4::bigint[], $5::timestamptz[], $6::timestamptz[], $7::text[]) AS t(d, s, c, p, sub)`,
    [repository, IMAGE, history.manifests.map((m) => m.digest), history.manifests.map((m) => m.size), history.manifests.map((m) => m.createdAt), history.manifests.map((m) => m.lastPulledAt), history.manifests.map((m) => m.subject)],
  );
  const refs = history.manifests.flatMap((m) => [...m.children.map((c) => [m.digest, c, 'manifest']), ...m.blobs.map((b) => [m.digest, b, 'blob'])]);
  await pool.query(
    `INSERT INTO manifest_references (repository, manifest_digest, referenced_digest, kind) SELECT $1, m, r, k FROM unnest($2::text[], $3::text[], $4::text[]) AS t(m, r, k) ON CONFLICT DO NOTHING`,
    [repository, refs.map((r) => r[0]), refs.map((r) => r[1]), refs.map((r) => r[2])],
  );
  await pool.query(
    `INSERT INTO tags (repository, name, digest, updated_at, last_pulled_at) SELECT $1, n, d, u, p FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS t(n, d, u, p)`,
    [repository, history.tags.map((t) => t.name), history.tags.map((t) => t.digest), history.tags.map((t) => t.updatedAt), history.tags.map((t) => t.lastPulledAt)],
  );
}

describe('retention against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;
  withTestbed((testbed) => ({ pool, model } = testbed));
  const rulesOf = () => new RetentionRules(pool);

  async function packageWith(rules: RetentionRules): Promise<{ slug: string; path: PackagePath; apiId: string }> {
    const { slug, api } = await world(model);
    await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'app', sourceRepositoryId: api.id, actorUserId: '' }, TEST_ORIGIN);
    return { slug, path: await new Retention(pool, rules, model.deletions).packageOf(slug, 'app'), apiId: api.id };
  }
  const tagsOf = async (repository: string) => new Set((await pool.query<{ name: string }>('SELECT name FROM tags WHERE repository = $1', [repository])).rows.map((r) => r.name));
  const manifestsOf = async (repository: string) => new Set((await pool.query<{ digest: string }>('SELECT digest FROM manifests WHERE repository = $1', [repository])).rows.map((r) => r.digest));

  it('inherits rules downward, lets a lower level opt out, shows where each comes from, and audits every change', async () => {
    const rules = rulesOf();
    const { slug, path, apiId } = await packageWith(rules);
    const workspace = await rules.resolve({ level: 'workspace', workspaceSlug: slug });
    const project = await rules.resolve({ level: 'project', workspaceSlug: slug, projectSlug: 'platform' });
    const repo = await rules.resolve({ level: 'source-repository', workspaceSlug: slug, sourceRepositoryId: apiId });
    const pkg = await rules.resolve({ level: 'package', workspaceSlug: slug, packageName: 'app' });
    const a = await rules.create(workspace, { kind: 'protect', pattern: 'v*' }, TEST_ORIGIN);
    const b = await rules.create(project, { kind: 'keep-latest', pattern: '*', count: 3 }, TEST_ORIGIN);
    const c = await rules.create(repo, { kind: 'delete-untagged', days: 7 }, TEST_ORIGIN);
    const d = await rules.create(pkg, { kind: 'keep-recent', pattern: 'dev-*', days: 2 }, TEST_ORIGIN);
    await rules.setOptOut(pkg, c.id, true, TEST_ORIGIN);
    const effective = await rules.effective(path);
    expect(effective.map((r) => [r.id, r.level, r.scopeName, r.optedOutAt ?? ''])).toEqual([
      [a.id, 'workspace', slug, ''],
      [b.id, 'project', `${slug}/platform`, ''],
      [c.id, 'source-repository', `${slug}/platform/api`, `package ${slug}/app`],
      [d.id, 'package', `${slug}/app`, ''],
    ]);
    // Only a level below a rule's opts out of it.
    await expect(rules.setOptOut(project, c.id, true, TEST_ORIGIN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(rules.setOptOut(pkg, d.id, true, TEST_ORIGIN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    // Bad input is INVALID_ARGUMENT naming the field; an unknown level or scope NOT_FOUND.
    for (const [input, field] of [
      [{ kind: 'protect', pattern: '' }, 'pattern'],
      [{ kind: 'protect', pattern: 'v[0-9]' }, 'pattern'],
      [{ kind: 'keep-latest', pattern: '*', count: 0 }, 'count'],
      [{ kind: 'keep-recent', pattern: '*', days: -1 }, 'days'],
      [{ kind: 'everything' }, 'kind'],
      [{ kind: 'delete-untagged', days: 0 }, 'days'],
    ] as const)
      await expect(rules.create(pkg, input, TEST_ORIGIN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field } });
    await expect(rules.resolve({ level: 'package', workspaceSlug: slug, packageName: 'missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(rules.resolve({ level: 'project', workspaceSlug: slug, projectSlug: 'missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await rules.setOptOut(pkg, c.id, false, TEST_ORIGIN);
    expect((await rules.effective(path)).find((r) => r.id === c.id)!.optedOutAt).toBeUndefined();
    await rules.delete(slug, b.id, TEST_ORIGIN);
    expect((await rules.effective(path)).map((r) => r.id)).toEqual([a.id, c.id, d.id]);
    await expect(rules.delete(slug, b.id, TEST_ORIGIN)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const { rows } = await pool.query<{ action: string }>("SELECT action FROM audit_log WHERE workspace = $1 AND action LIKE 'retention%' ORDER BY id", [slug]);
    expect(rows.map((r) => r.action)).toEqual(['retention-rule.created', 'retention-rule.created', 'retention-rule.created', 'retention-rule.created', 'retention-rule.opted-out', 'retention-rule.opted-in', 'retention-rule.deleted']);
  });

  it('previews what an independent oracle deletes over a generated history, and an apply deletes exactly that', async () => {
    const rules = rulesOf();
    const retention = new Retention(pool, rules, model.deletions, { batch: 37 });
    const { slug, path } = await packageWith(rules);
    const { rows } = await pool.query<{ now: Date }>('SELECT now() AS now');
    const history = generateHistory({ tagCount: 400, manifestCount: 180, days: 60, now: rows[0]!.now, seed: 11 });
    await insertHistory(pool, path.repository, history);
    const pkg = await rules.resolve({ level: 'package', workspaceSlug: slug, packageName: 'app' });
    const ids = new Map<string, string>();
    for (const rule of HISTORY_RULES) ids.set((await rules.create(pkg, rule, TEST_ORIGIN)).id, rule.id);

    const preview = await retention.preview(path);
    // The oracle decides with the evaluation's own clock and the same rules (ids as the database gave them).
    const expected = oracle(history, preview.rules.map((r) => ({ ...r })), preview.evaluatedAt);
    expect(new Set(preview.evaluation.deletedTags.map((t) => t.name))).toEqual(expected.tags);
    expect(new Set(preview.evaluation.deletedManifests.map((m) => m.digest))).toEqual(expected.manifests);
    expect(expected.tags.size).toBeGreaterThan(20);
    expect(expected.manifests.size).toBeGreaterThan(5);
    expect(preview.evaluation.bytes).toBeGreaterThan(0);
    const latest = preview.evaluation.tags.find((t) => t.name === 'latest');
    if (latest) expect(ids.get(latest.keptBy.find((id) => ids.get(id) === 'latest')!)).toBe('latest');

    const tagsBefore = await tagsOf(path.repository);
    const manifestsBefore = await manifestsOf(path.repository);
    const report = await retention.apply(path, { confirm: true, origin: TEST_ORIGIN });
    expect(report.skipped).toEqual([]);
    expect(new Set(report.deletedTags)).toEqual(expected.tags);
    expect(await tagsOf(path.repository)).toEqual(new Set([...tagsBefore].filter((t) => !expected.tags.has(t))));
    expect(await manifestsOf(path.repository)).toEqual(new Set([...manifestsBefore].filter((m) => !expected.manifests.has(m))));
    // A second preview finds nothing more to delete, and the application was audited.
    expect((await retention.preview(path)).evaluation.deletedTags).toEqual([]);
    const audited = await pool.query<{ after: { deletedTags: number } }>("SELECT after FROM audit_log WHERE workspace = $1 AND action = 'retention.applied'", [slug]);
    expect(audited.rows.map((r) => r.after.deletedTags)).toEqual([expected.tags.size]);
    // Hooks hear of it: one retention.applied event after the deletes' own, with the counts.
    const { rows: events } = await pool.query<{ action: string; envelope: { target: { summary?: Record<string, unknown> } } }>('SELECT action, envelope FROM outbox WHERE repository = $1 ORDER BY id', [path.repository]);
    const applied = events.filter((e) => e.action === 'retention.applied');
    expect(applied.map((e) => e.envelope.target.summary)).toEqual([expect.objectContaining({ deletedTags: expected.tags.size, deletedManifests: report.deletedManifests.length, skipped: 0, confirmed: true })]);
    expect(events.at(-1)!.action).toBe('retention.applied');
    // An application that deletes nothing announces nothing.
    await retention.apply(path, { confirm: true, origin: TEST_ORIGIN });
    expect((await pool.query("SELECT 1 FROM outbox WHERE repository = $1 AND action = 'retention.applied'", [path.repository])).rowCount).toBe(1);
  });

  it('needs confirm to delete more than the threshold of a package\'s tags, and says how many', async () => {
    const rules = rulesOf();
    const retention = new Retention(pool, rules, model.deletions);
    const { slug, path } = await packageWith(rules);
    for (const tag of ['a', 'b', 'c', 'd']) {
      const content = Buffer.from(`{"schemaVersion":2,"t":"${tag}${unique('')}"}`);
      await model.manifests.put({ origin: TEST_ORIGIN, repository: path.repository, tags: [tag], digest: digestOf(content), mediaType: IMAGE, content, blobDigests: [], manifestDigests: [] });
    }
    const pkg = await rules.resolve({ level: 'package', workspaceSlug: slug, packageName: 'app' });
    await rules.create(pkg, { kind: 'keep-latest', pattern: '*', count: 1 }, TEST_ORIGIN);
    const preview = await retention.preview(path);
    expect(preview.needsConfirmation).toBe(true);
    const refused = await retention.apply(path, { confirm: false, origin: TEST_ORIGIN }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RegistryError);
    expect(refused).toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('3 of 4 tags'), detail: { deleteTags: 3, tags: 4 } });
    expect((await tagsOf(path.repository)).size).toBe(4);
    // Under the threshold (keep 2 of 4 is exactly 50%): no confirmation needed.
    const lenient = new Retention(pool, rules, model.deletions, { confirmAbove: 0.8 });
    expect((await lenient.apply(path, { confirm: false, origin: TEST_ORIGIN })).deletedTags).toHaveLength(3);
  });

  it('never deletes a tag pushed or moved after the evaluation began, even as pushes race with the apply', async () => {
    const rules = rulesOf();
    const { slug, path } = await packageWith(rules);
    const put = (tag: string, text: string) => {
      const content = Buffer.from(`{"schemaVersion":2,"t":"${text}"}`);
      return model.manifests.put({ origin: TEST_ORIGIN, repository: path.repository, tags: [tag], digest: digestOf(content), mediaType: IMAGE, content, blobDigests: [], manifestDigests: [] });
    };
    const names = Array.from({ length: 30 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    for (const name of names) await put(name, `${name}-old-${slug}`);
    await pool.query("UPDATE tags SET updated_at = now() - interval '30 days' WHERE repository = $1", [path.repository]);
    const pkg = await rules.resolve({ level: 'package', workspaceSlug: slug, packageName: 'app' });
    await rules.create(pkg, { kind: 'keep-recent', pattern: '*', days: 1 }, TEST_ORIGIN);
    // Pushes race with the apply: while it deletes, t05 moves to a new image, t06 is pushed again (same image), new tags arrive.
    let raced = false;
    const racing = {
      deleteTag: async (...args: Parameters<MetadataModel['deletions']['deleteTag']>) => {
        if (!raced) {
          raced = true;
          await put('t05', `t05-new-${slug}`);
          await put('t06', `t06-old-${slug}`);
          await put('fresh', `fresh-${slug}`);
        }
        return model.deletions.deleteTag(...args);
      },
      deleteManifest: model.deletions.deleteManifest.bind(model.deletions),
    };
    const report = await new Retention(pool, rules, racing, { batch: 7 }).apply(path, { confirm: true, origin: TEST_ORIGIN });
    expect(report.preview.evaluation.deletedTags).toHaveLength(30);
    expect(report.skipped.filter((s) => s.kind === 'tag').map((s) => s.name).sort()).toEqual(['t05', 't06']);
    expect(await tagsOf(path.repository)).toEqual(new Set(['t05', 't06', 'fresh']));
    // The images whose tags stayed are not touched (t06's still tagged; t05's old one left to the collector).
    expect(report.skipped.filter((s) => s.kind === 'manifest').map((s) => s.why)).toEqual(['a tag pointing to it stayed', 'a tag pointing to it stayed']);
    expect(report.deletedManifests).toHaveLength(28);
  });
});
