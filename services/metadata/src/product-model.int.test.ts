import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { migrate } from './migrate';
import { OPERATOR } from './access';
import { createMetadataModel, type MetadataModel } from './metadata-model';
import { ListingSnapshot } from './listing-snapshot';
import type { EventEnvelope } from './outbox';

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

describe('ProductModel against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;

  beforeAll(async () => {
    await migrate(process.env.DATABASE_URL!, createLogger({ service: 'test', level: 'silent' }));
    pool = new Pool({ connectionString: process.env.DATABASE_URL });
    model = createMetadataModel(pool);
  });

  afterAll(async () => {
    await pool?.end();
  });

  /** A workspace with an organization, one project and two repositories. */
  async function world() {
    const slug = unique('ws');
    await model.workspaces.create({ requestId: '', slug, name: '', organization: 'acme-org' });
    await model.projects.create({ requestId: '', workspaceSlug: slug, slug: 'platform', name: 'Platform' });
    const api = await model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'platform', slug: 'api', name: 'API' });
    const web = await model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'platform', slug: 'web', name: 'Web' });
    return { slug, api, web };
  }

  it('creates idempotently by request id and refuses a second create of the same slug', async () => {
    const slug = unique('ws');
    const requestId = unique('req');
    const first = await model.workspaces.create({ requestId, slug, name: 'First', organization: '' });
    const retried = await model.workspaces.create({ requestId, slug, name: 'First', organization: '' });
    expect(retried.id).toBe(first.id);
    await expect(model.workspaces.create({ requestId: '', slug, name: 'Again', organization: '' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('names the field at fault for bad input', async () => {
    await expect(model.workspaces.create({ requestId: '', slug: 'Not A Slug', name: '', organization: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'slug' } });
    const { slug } = await world();
    await expect(model.packages.create({ requestId: '', workspaceSlug: slug, name: 'app', repositoryId: 'nope', actorUserId: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'repository_id' } });
    await expect(model.workspaces.list(10, 'garbage')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'page_token' } });
    await expect(model.workspaces.get(unique('missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('needs a linked organization before packages can be created', async () => {
    const slug = unique('ws');
    await model.workspaces.create({ requestId: '', slug, name: '', organization: '' });
    await model.projects.create({ requestId: '', workspaceSlug: slug, slug: 'p', name: '' });
    const repo = await model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'p', slug: 'r', name: '' });
    await expect(model.packages.create({ requestId: '', workspaceSlug: slug, name: 'app', repositoryId: repo.id, actorUserId: '' })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await model.workspaces.updateSettings(slug, { organization: 'acme-org' });
    await expect(model.packages.create({ requestId: '', workspaceSlug: slug, name: 'app', repositoryId: repo.id, actorUserId: '' })).resolves.toMatchObject({ name: 'app' });
  });

  it('lets only an Admin of the repository create a package there', async () => {
    const { slug, api } = await world();
    await model.memberships.set(api.id, 'writer@example.com', 'write');
    await model.memberships.set(api.id, 'admin@example.com', 'admin');
    await expect(model.packages.create({ requestId: '', workspaceSlug: slug, name: 'tools/cli', repositoryId: api.id, actorUserId: 'writer@example.com' })).rejects.toMatchObject({ code: 'DENIED' });
    const created = await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'tools/cli', repositoryId: api.id, actorUserId: 'admin@example.com' });
    expect(created).toMatchObject({ workspaceSlug: slug, name: 'tools/cli', repositoryId: api.id });
  });

  it('inherits roles from the linked repository; link changes and membership removal apply at once', async () => {
    const { slug, api, web } = await world();
    await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'server', repositoryId: api.id, actorUserId: '' });
    await model.memberships.set(api.id, 'dev@example.com', 'write');
    await model.memberships.set(web.id, 'dev@example.com', 'read');
    expect((await model.access.roleOn('dev@example.com', `${slug}/server`)).role).toBe('write');

    await model.packages.link(slug, 'server', web.id, '');
    expect((await model.access.roleOn('dev@example.com', `${slug}/server`)).role).toBe('read');

    await model.packages.setGrant(slug, 'server', 'dev@example.com', 'admin');
    expect((await model.access.roleOn('dev@example.com', `${slug}/server`)).role).toBe('admin');
    await model.packages.setGrant(slug, 'server', 'dev@example.com', undefined);

    expect(await model.memberships.list(web.id)).toEqual([{ userId: 'dev@example.com', role: 'read' }]);
    await model.memberships.remove(web.id, 'dev@example.com');
    expect((await model.access.roleOn('dev@example.com', `${slug}/server`)).role).toBeUndefined();
    expect(await model.memberships.list(web.id)).toEqual([]);

    await model.workspaces.addAdmin(slug, 'boss@example.com');
    expect((await model.access.roleOn('boss@example.com', `${slug}/server`)).role).toBe('admin');
  });

  it('refuses a push to a name without a package, unless the workspace creates packages on push and the pusher may write to its default repository', async () => {
    const { slug, api, web } = await world();
    await model.memberships.set(api.id, 'writer@example.com', 'write');
    await model.memberships.set(web.id, 'elsewhere@example.com', 'write');
    const check = (repository: string, pusher: string) => model.packagesOnPush.ensure(repository, pusher, { create: false });
    await expect(check(`${slug}/new-image`, 'writer@example.com')).rejects.toMatchObject({ code: 'NAME_UNKNOWN', message: expect.stringContaining('registryctl package create') });
    await expect(check(`${unique('nows')}/image`, 'writer@example.com')).rejects.toMatchObject({ code: 'NAME_UNKNOWN', message: expect.stringContaining('does not exist') });
    await model.workspaces.updateSettings(slug, { createPackagesOnPush: true, defaultRepositoryId: api.id });
    // A Write member of another repository gets no role on the new name, and cannot create it.
    expect((await model.access.roleOn('elsewhere@example.com', `${slug}/new-image`)).role).toBeUndefined();
    await expect(check(`${slug}/new-image`, 'elsewhere@example.com')).rejects.toMatchObject({ code: 'DENIED' });
    expect((await model.access.roleOn('writer@example.com', `${slug}/new-image`)).role).toBe('write');
    // The check creates nothing; the push's first write does, in its own transaction.
    await check(`${slug}/new-image`, 'writer@example.com');
    await expect(model.packages.get(slug, 'new-image')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const blob = (content: Buffer) => ({ digest: `sha256:${createHash('sha256').update(content).digest('hex')}`, size: content.length, storageKey: `blobs/${randomBytes(4).toString('hex')}` });
    await expect(model.blobs.link(`${slug}/other-image`, blob(randomBytes(8)), 'elsewhere@example.com')).rejects.toMatchObject({ code: 'DENIED' });
    await expect(model.packages.get(slug, 'other-image')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await model.blobs.link(`${slug}/new-image`, blob(randomBytes(8)), 'writer@example.com');
    expect(await model.packages.get(slug, 'new-image')).toMatchObject({ name: 'new-image', repositoryId: api.id });
    await check(`${slug}/new-image`, 'elsewhere@example.com'); // it exists now: pushing is a matter of the role on it
  });

  it('shows each user only the packages, repositories and projects they have a role on', async () => {
    const { slug, api, web } = await world();
    await model.projects.create({ requestId: '', workspaceSlug: slug, slug: 'other', name: '' });
    const hidden = await model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'other', slug: 'hidden', name: '' });
    for (const [name, repository] of [['server', api], ['site', web], ['secret', hidden]] as const) {
      await model.packages.create({ requestId: '', workspaceSlug: slug, name, repositoryId: repository.id, actorUserId: OPERATOR });
    }
    await model.memberships.set(api.id, 'reader@example.com', 'read');
    await model.packages.setGrant(slug, 'site', 'granted@example.com', 'read');

    const reader = await model.access.visibility('reader@example.com', slug);
    expect(reader).toMatchObject({ visible: true, allPackages: false, memberRepositoryIds: [api.id], grantedPackages: [] });
    expect((await model.packages.list(slug, 50, '', { repositoryIds: reader.memberRepositoryIds, names: [] })).items.map((p) => p.name)).toEqual(['server']);
    expect((await model.sourceRepositories.list(slug, '', 50, '', [api.id])).items.map((r) => r.slug)).toEqual(['api']);
    expect((await model.projects.list(slug, 50, '', [api.id])).items.map((p) => p.slug)).toEqual(['platform']);

    const granted = await model.access.visibility('granted@example.com', slug);
    expect(granted).toMatchObject({ visible: true, allPackages: false, memberRepositoryIds: [], grantedPackages: [{ name: 'site', repositoryId: web.id }] });
    expect((await model.packages.list(slug, 50, '', { repositoryIds: [], names: ['site'] })).items.map((p) => p.name)).toEqual(['site']);
    const grantedList = await model.workspaces.list(500, '', { userId: 'granted@example.com' });
    expect(grantedList.items.map((w) => w.slug)).toContain(slug);

    expect(await model.access.visibility('stranger@example.com', slug)).toMatchObject({ visible: false });
    expect(await model.access.visibility('', slug)).toMatchObject({ visible: false });
    expect(await model.access.visibility('stranger@example.com', slug, true)).toMatchObject({ visible: true, allPackages: true });
    await model.workspaces.addAdmin(slug, 'boss@example.com');
    expect(await model.access.visibility('boss@example.com', slug)).toMatchObject({ visible: true, allPackages: true });
    await model.workspaces.updateSettings(slug, { publicPull: true });
    expect(await model.access.visibility('', slug)).toMatchObject({ visible: true, allPackages: true });
    expect(await model.access.visibility('stranger@example.com', 'no-such-workspace')).toMatchObject({ visible: false });
  });

  it('pages through only the workspaces a user may see: no empty page while more follow', async () => {
    const user = `${unique('pager')}@example.com`;
    const hidden = [await world(), await world()];
    const mine = await world();
    await model.memberships.set(mine.api.id, user, 'read');
    const seen: string[] = [];
    let token = '';
    for (let pages = 0; pages < 1000; pages++) {
      const page = await model.workspaces.list(1, token, { userId: user });
      if (page.nextPageToken) expect(page.items).toHaveLength(1);
      seen.push(...page.items.map((w) => w.slug));
      token = page.nextPageToken;
      if (!token) break;
    }
    expect(token).toBe('');
    expect(seen).toContain(mine.slug);
    for (const { slug } of hidden) expect(seen).not.toContain(slug);
  });

  it('enforces the storage quota at the byte boundary, counting each blob once per workspace', async () => {
    const { slug } = await world();
    const blob = (size: number) => {
      const digest = `sha256:${randomBytes(32).toString('hex')}`;
      return { digest, size, storageKey: `blobs/${digest.slice(7, 19)}` };
    };
    await model.workspaces.updateSettings(slug, { plan: 'small', storageQuotaBytes: 1000 });
    const first = blob(600);
    await model.blobs.link(`${slug}/a`, first);
    await model.blobs.link(`${slug}/a`, blob(400)); // exactly at the quota
    await expect(model.blobs.link(`${slug}/b`, blob(1))).rejects.toMatchObject({ code: 'DENIED', httpStatus: 403, message: expect.stringContaining('quota') });
    await model.blobs.link(`${slug}/b`, first); // already stored in the workspace: free

    const usage = await model.usage.ofWorkspace(slug);
    expect(usage).toEqual({ workspaceBytes: 1000, storageQuotaBytes: 1000, repositories: [{ repository: `${slug}/a`, bytes: 1000 }, { repository: `${slug}/b`, bytes: 600 }] });

    // Lowering the quota under the usage stops manifest pushes, with a clear error.
    await model.workspaces.updateSettings(slug, { storageQuotaBytes: 999 });
    const content = Buffer.from('{"quota":true}');
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    await expect(model.manifests.put({ repository: `${slug}/a`, tags: ['v1'], digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] })).rejects.toMatchObject({ code: 'DENIED' });
    await model.workspaces.updateSettings(slug, { unlimitedStorage: true });
    await expect(model.manifests.put({ repository: `${slug}/a`, tags: ['v1'], digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] })).resolves.toBe(digest);
    expect((await model.workspaces.get(slug)).storageQuotaBytes).toBeUndefined();
  });

  it('exports a listing snapshot whose events match the outbox: same targets, same times', async () => {
    const { slug, api, web } = await world();
    await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'server', repositoryId: api.id, actorUserId: '' });
    await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'site', repositoryId: web.id, actorUserId: '' });
    await model.packages.link(slug, 'site', api.id, OPERATOR);
    const layer = { digest: `sha256:${randomBytes(32).toString('hex')}`, size: 5000, storageKey: 'blobs/l' };
    await model.blobs.link(`${slug}/server`, layer);
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: layer.digest, size: 5000 }, layers: [] }));
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const push = { repository: `${slug}/server`, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [layer.digest], manifestDigests: [], platform: 'linux/arm64/v8', created: '2026-01-02T03:04:05Z' };
    await model.manifests.put({ ...push, tags: ['v1'] });
    await model.manifests.put({ ...push, tags: ['v1', 'latest'] }); // moves v1 again: only its latest time counts

    const snapshot = new ListingSnapshot(pool);
    const exported: EventEnvelope[] = [];
    for (let token = '', first = true; first || token; first = false) {
      const page = await snapshot.page(1, token);
      exported.push(...page.events.filter((event) => event.target.workspace === slug));
      token = page.nextPageToken;
    }
    const { rows } = await pool.query<{ envelope: EventEnvelope }>("SELECT envelope FROM outbox WHERE split_part(repository, '/', 1) = $1 ORDER BY id", [slug]);
    // The state the outbox describes: the last event per package / manifest / tag.
    const latest = new Map<string, EventEnvelope>();
    const keyOf = (e: EventEnvelope) => [e.action, e.target.repository, e.action === 'manifest.pushed' ? e.target.digest : '', e.target.tag ?? ''].join(' ');
    for (const { envelope } of rows) latest.set(keyOf(envelope), envelope);
    const comparable = (events: EventEnvelope[]) => events.map((e) => ({ action: e.action, time: e.time, target: e.action === 'tag.updated' ? { ...e.target, mediaType: undefined, size: undefined, manifest: undefined } : e.target })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(comparable(exported)).toEqual(comparable([...latest.values()]));
    expect(exported.find((e) => e.action === 'manifest.pushed')?.target.manifest).toMatchObject({ kind: 'image', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, created: '2026-01-02T03:04:05.000Z', config: { size: 5000 } });
    expect(exported.find((e) => e.action === 'package.linked' && e.target.package === 'site')?.target).toMatchObject({ linkedRepositoryId: api.id, project: 'platform' });
  });

  it('reads and renames projects and repositories', async () => {
    const { slug, api } = await world();
    expect(await model.projects.rename(slug, 'platform', 'Platform Team')).toMatchObject({ slug: 'platform', name: 'Platform Team' });
    expect((await model.projects.get(slug, 'platform')).name).toBe('Platform Team');
    expect(await model.sourceRepositories.rename(api.id, 'Public API')).toMatchObject({ id: api.id, slug: 'api', name: 'Public API' });
    expect((await model.sourceRepositories.get(api.id)).name).toBe('Public API');
    await expect(model.projects.get(slug, 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('deletes only what is empty, saying what is in the way', async () => {
    const { slug, api, web } = await world();
    await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'pkg', repositoryId: api.id, actorUserId: '' });
    await expect(model.sourceRepositories.delete(api.id)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('packages still link') });
    await expect(model.projects.delete(slug, 'platform')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(model.workspaces.delete(slug)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await model.packages.delete(slug, 'pkg');
    await model.sourceRepositories.delete(api.id);
    await model.sourceRepositories.delete(web.id);
    await model.projects.delete(slug, 'platform');
    await model.workspaces.delete(slug);
    await expect(model.workspaces.get(slug)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('pages through lists with opaque tokens', async () => {
    const { slug, api } = await world();
    for (const name of ['a', 'b', 'c', 'd', 'e']) await model.packages.create({ requestId: '', workspaceSlug: slug, name, repositoryId: api.id, actorUserId: '' });
    const first = await model.packages.list(slug, 2, '');
    const second = await model.packages.list(slug, 2, first.nextPageToken);
    const third = await model.packages.list(slug, 2, second.nextPageToken);
    expect([...first.items, ...second.items, ...third.items].map((p) => p.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(third.nextPageToken).toBe('');
  });
});
