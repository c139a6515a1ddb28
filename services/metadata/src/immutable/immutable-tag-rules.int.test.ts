import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from '../access';
import type { MetadataModel } from '../metadata-model';
import { digestOf, TEST_ORIGIN, unique, withTestbed, world } from '../metadata-testbed';

const IMAGE = 'application/vnd.oci.image.manifest.v1+json';

describe('Immutable tag rules against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;
  withTestbed((testbed) => ({ pool, model } = testbed));

  /** A workspace with packages "server" (linked to platform/api), "site" (platform/web) and "tool" (tools/cli, another project). */
  async function packagesWorld() {
    const w = await world(model);
    await model.projects.create({ requestId: '', workspaceSlug: w.slug, slug: 'tools', name: 'Tools' }, TEST_ORIGIN);
    const cli = await model.sourceRepositories.create({ requestId: '', workspaceSlug: w.slug, projectSlug: 'tools', slug: 'cli', name: 'CLI' }, TEST_ORIGIN);
    for (const [name, repository] of [['server', w.api.id], ['site', w.web.id], ['tool', cli.id]] as const) {
      await model.packages.create({ requestId: '', workspaceSlug: w.slug, name, sourceRepositoryId: repository, actorUserId: OPERATOR }, TEST_ORIGIN);
    }
    return { ...w, cli };
  }

  const push = (repository: string, text: string, tags: string[]) => {
    const content = Buffer.from(`{"schemaVersion":2,"image":"${text}"}`);
    return model.manifests.put({ origin: TEST_ORIGIN, repository, tags, digest: digestOf(content), mediaType: IMAGE, content, blobDigests: [], manifestDigests: [] });
  };
  const rules = () => model.immutableTagRules;
  const audits = async (workspace: string) =>
    (await pool.query<{ action: string; target_name: string }>("SELECT action, target_name FROM audit_log WHERE workspace = $1 AND action LIKE 'immutable-rule.%' ORDER BY seq", [workspace])).rows;

  it('rules at every level are inherited downward; the effective set of a package names each rule\'s level', async () => {
    const w = await packagesWorld();
    const at = {
      workspace: await rules().resolve({ workspaceSlug: w.slug, level: 'workspace' }),
      project: await rules().resolve({ workspaceSlug: w.slug, level: 'project', projectSlug: 'platform' }),
      repository: await rules().resolve({ workspaceSlug: w.slug, level: 'source_repository', sourceRepositoryId: w.api.id }),
      package: await rules().resolve({ workspaceSlug: w.slug, level: 'package', packageName: 'server' }),
    };
    expect(at.workspace.changedBy).toEqual({ workspaceAdmins: true });
    expect(at.project.changedBy).toEqual({ workspaceAdmins: true });
    expect(at.repository.changedBy).toEqual({ sourceRepositoryId: w.api.id });
    expect(at.package.changedBy).toEqual({ sourceRepositoryId: w.api.id });
    await rules().create(at.workspace, 'latest-release', 'alice', TEST_ORIGIN);
    await rules().create(at.project, 'release-*', 'alice', TEST_ORIGIN);
    await rules().create(at.repository, 'v*', 'alice', TEST_ORIGIN);
    await rules().create(at.package, 'stable', 'alice', TEST_ORIGIN);

    const effective = async (name: string) => (await rules().effective(`${w.slug}/${name}`)).map((r) => [r.level, r.pattern, r.scopeName]);
    expect(await effective('server')).toEqual([
      ['workspace', 'latest-release', w.slug],
      ['project', 'release-*', `${w.slug}/platform`],
      ['source_repository', 'v*', `${w.slug}/platform/api`],
      ['package', 'stable', `${w.slug}/server`],
    ]);
    expect(await effective('site')).toEqual([['workspace', 'latest-release', w.slug], ['project', 'release-*', `${w.slug}/platform`]]);
    expect(await effective('tool')).toEqual([['workspace', 'latest-release', w.slug]]);
    // A name without a package still has its workspace's rules.
    expect(await effective('not-a-package')).toEqual([['workspace', 'latest-release', w.slug]]);

    expect((await rules().listAt(at.project)).map((r) => r.pattern)).toEqual(['release-*']);
    expect((await rules().listInWorkspace(w.slug)).map((r) => r.pattern)).toEqual(['latest-release', 'release-*', 'v*', 'stable']);
    // Another workspace's rules never apply.
    const other = await packagesWorld();
    expect(await rules().effective(`${other.slug}/server`)).toEqual([]);
    expect(await audits(w.slug)).toEqual([
      { action: 'immutable-rule.created', target_name: `${w.slug}:latest-release` },
      { action: 'immutable-rule.created', target_name: `${w.slug}/platform:release-*` },
      { action: 'immutable-rule.created', target_name: `${w.slug}/platform/api:v*` },
      { action: 'immutable-rule.created', target_name: `${w.slug}/server:stable` },
    ]);
  });

  it('refuses empty and malformed patterns, a pattern twice at one scope, and scopes that do not exist', async () => {
    const w = await packagesWorld();
    const scope = await rules().resolve({ workspaceSlug: w.slug, level: 'workspace' });
    for (const bad of ['', ' ', 'v*/x', '[v]*', 'a'.repeat(129)]) {
      await expect(rules().create(scope, bad, 'alice', TEST_ORIGIN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'pattern' } });
    }
    await rules().create(scope, 'v*', 'alice', TEST_ORIGIN);
    await expect(rules().create(scope, 'v*', 'alice', TEST_ORIGIN)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    // The same pattern at another scope is another rule.
    await rules().create(await rules().resolve({ workspaceSlug: w.slug, level: 'package', packageName: 'server' }), 'v*', 'alice', TEST_ORIGIN);
    await expect(rules().resolve({ workspaceSlug: w.slug, level: 'project', projectSlug: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND', detail: { field: 'project_slug' } });
    await expect(rules().resolve({ workspaceSlug: w.slug, level: 'package', packageName: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND', detail: { field: 'package_name' } });
    await expect(rules().resolve({ workspaceSlug: w.slug, level: 'source_repository', sourceRepositoryId: 'x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(rules().resolve({ workspaceSlug: w.slug, level: 'source_repository', sourceRepositoryId: (await packagesWorld()).api.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(rules().resolve({ workspaceSlug: unique('nows'), level: 'workspace' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(rules().resolve({ workspaceSlug: w.slug, level: 'everything' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(rules().get(w.slug, '00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('an immutable tag is created once, re-pushed with its digest, never moved or deleted (nor its manifest or image) until its rule is deleted', async () => {
    const w = await packagesWorld();
    const repository = `${w.slug}/server`;
    const rule = await rules().create(await rules().resolve({ workspaceSlug: w.slug, level: 'source_repository', sourceRepositoryId: w.api.id }), 'v*', 'alice', TEST_ORIGIN);

    const first = await push(repository, 'one', ['v1', 'latest']);
    expect(await push(repository, 'one', ['v1', 'latest'])).toBe(first); // idempotent CI re-push
    const second = await push(repository, 'two', ['latest', 'dev']); // tags no rule matches move freely
    const moving = push(repository, 'two', ['v1']);
    await expect(moving).rejects.toMatchObject({
      code: 'DENIED',
      message: expect.stringContaining(`tag v1 of ${repository} is immutable (immutable tag rule "v*" of source repository ${w.slug}/platform/api)`),
      detail: { tag: 'v1', rule: { id: rule.id, pattern: 'v*', level: 'source_repository' } },
    });
    // One push setting a free and an immutable tag moves neither.
    await expect(push(repository, 'two', ['stable', 'v1'])).rejects.toMatchObject({ code: 'DENIED' });
    await expect(model.manifests.get(repository, 'stable')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    expect((await model.manifests.get(repository, 'v1')).digest).toBe(first);
    // A new tag the rule matches may be created, on any manifest.
    await push(repository, 'two', ['v2']);
    expect((await model.manifests.get(repository, 'v2')).digest).toBe(second);

    await expect(model.deletions.deleteTag(repository, 'v1', TEST_ORIGIN)).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('cannot be deleted') });
    await expect(model.deletions.deleteManifest(repository, first, TEST_ORIGIN)).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining(`nor manifest ${first}`) });
    await expect(model.deletions.deleteImage(repository, TEST_ORIGIN)).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('nor the image') });
    expect((await model.manifests.get(repository, 'v1')).digest).toBe(first);
    expect((await model.manifests.get(repository, 'latest')).digest).toBe(second); // the refused image deletion took nothing
    await model.deletions.deleteTag(repository, 'dev', TEST_ORIGIN); // free tags are deleted as before
    // Other packages are not under a repository rule.
    await push(`${w.slug}/site`, 'one', ['v1']);
    await push(`${w.slug}/site`, 'two', ['v1']);

    await rules().delete(rule, TEST_ORIGIN);
    await push(repository, 'two', ['v1']);
    await model.deletions.deleteTag(repository, 'v1', TEST_ORIGIN);
    expect(await model.deletions.deleteImage(repository, TEST_ORIGIN)).toMatchObject({ manifests: 2 });
    await expect(rules().delete(rule, TEST_ORIGIN)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await audits(w.slug)).map((a) => a.action)).toEqual(['immutable-rule.created', 'immutable-rule.deleted']);
  });

  it('"*" at the workspace makes every tag of every package immutable, packages created on push included; a refused push leaves no trace', async () => {
    const w = await packagesWorld();
    await rules().create(await rules().resolve({ workspaceSlug: w.slug, level: 'workspace' }), '*', 'alice', TEST_ORIGIN);
    for (const name of ['server', 'tool', 'unlinked/name']) {
      const repository = `${w.slug}/${name}`;
      const digest = await push(repository, 'one', ['latest']);
      const events = async () => (await pool.query('SELECT 1 FROM outbox WHERE repository = $1', [repository])).rowCount;
      const before = await events();
      await expect(push(repository, 'two', ['latest'])).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining(`immutable tag rule "*" of workspace ${w.slug}`) });
      expect(await events()).toBe(before); // the whole push was rolled back
      await expect(model.manifests.get(repository, digestOf('{"schemaVersion":2,"image":"two"}'))).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
      expect((await model.manifests.get(repository, 'latest')).digest).toBe(digest);
      await expect(model.deletions.deleteTag(repository, 'latest', TEST_ORIGIN)).rejects.toMatchObject({ code: 'DENIED' });
    }
  });

  it('rules go with their scope: deleting a package removes its rules', async () => {
    const w = await packagesWorld();
    await rules().create(await rules().resolve({ workspaceSlug: w.slug, level: 'package', packageName: 'site' }), 'v*', 'alice', TEST_ORIGIN);
    expect(await rules().listInWorkspace(w.slug)).toHaveLength(1);
    await model.packages.delete(w.slug, 'site', TEST_ORIGIN);
    expect(await rules().listInWorkspace(w.slug)).toEqual([]);
  });
});
