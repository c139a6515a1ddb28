import { describe, expect, it } from 'vitest';
import { OPERATOR } from './access';
import type { MetadataModel } from './metadata-model';
import { withTestbed, world, TEST_ORIGIN } from './metadata-testbed';

describe('Access against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('inherits roles from the linked repository; link changes and membership removal apply at once', async () => {
    const { slug, api, web } = await world(model);
    await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'server', sourceRepositoryId: api.id, actorUserId: '' }, TEST_ORIGIN);
    await model.memberships.set(api.id, 'dev@example.com', 'write', TEST_ORIGIN);
    await model.memberships.set(web.id, 'dev@example.com', 'read', TEST_ORIGIN);
    expect((await model.access.roleOn('dev@example.com', `${slug}/server`)).role).toBe('write');

    await model.packages.link(slug, 'server', web.id, '', TEST_ORIGIN);
    expect((await model.access.roleOn('dev@example.com', `${slug}/server`)).role).toBe('read');

    await model.packages.setGrant(slug, 'server', 'dev@example.com', 'admin', TEST_ORIGIN);
    expect((await model.access.roleOn('dev@example.com', `${slug}/server`)).role).toBe('admin');
    await model.packages.setGrant(slug, 'server', 'dev@example.com', undefined, TEST_ORIGIN);

    expect(await model.memberships.list(web.id)).toEqual([{ userId: 'dev@example.com', role: 'read' }]);
    await model.memberships.remove(web.id, 'dev@example.com', TEST_ORIGIN);
    expect((await model.access.roleOn('dev@example.com', `${slug}/server`)).role).toBeUndefined();
    expect(await model.memberships.list(web.id)).toEqual([]);

    await model.workspaces.addAdmin(slug, 'boss@example.com', TEST_ORIGIN);
    expect((await model.access.roleOn('boss@example.com', `${slug}/server`)).role).toBe('admin');
  });

  it('shows each user only the packages, repositories and projects they have a role on', async () => {
    const { slug, api, web } = await world(model);
    await model.projects.create({ requestId: '', workspaceSlug: slug, slug: 'other', name: '' }, TEST_ORIGIN);
    const hidden = await model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'other', slug: 'hidden', name: '' }, TEST_ORIGIN);
    for (const [name, repository] of [['server', api], ['site', web], ['secret', hidden]] as const) {
      await model.packages.create({ requestId: '', workspaceSlug: slug, name, sourceRepositoryId: repository.id, actorUserId: OPERATOR }, TEST_ORIGIN);
    }
    await model.memberships.set(api.id, 'reader@example.com', 'read', TEST_ORIGIN);
    await model.packages.setGrant(slug, 'site', 'granted@example.com', 'read', TEST_ORIGIN);

    const reader = await model.access.visibility('reader@example.com', slug);
    expect(reader).toMatchObject({ visible: true, allPackages: false, memberRepositoryIds: [api.id], grantedPackages: [] });
    expect((await model.packages.list(slug, 50, '', { sourceRepositoryIds: reader.memberRepositoryIds, names: [] })).items.map((p) => p.name)).toEqual(['server']);
    expect((await model.sourceRepositories.list(slug, '', 50, '', [api.id])).items.map((r) => r.slug)).toEqual(['api']);
    expect((await model.projects.list(slug, 50, '', [api.id])).items.map((p) => p.slug)).toEqual(['platform']);

    const granted = await model.access.visibility('granted@example.com', slug);
    expect(granted).toMatchObject({ visible: true, allPackages: false, memberRepositoryIds: [], grantedPackages: [{ name: 'site', sourceRepositoryId: web.id }] });
    expect((await model.packages.list(slug, 50, '', { sourceRepositoryIds: [], names: ['site'] })).items.map((p) => p.name)).toEqual(['site']);
    const grantedList = await model.workspaces.list(500, '', { userId: 'granted@example.com' });
    expect(grantedList.items.map((w) => w.slug)).toContain(slug);

    expect(await model.access.visibility('stranger@example.com', slug)).toMatchObject({ visible: false });
    expect(await model.access.visibility('', slug)).toMatchObject({ visible: false });
    expect(await model.access.visibility('stranger@example.com', slug, true)).toMatchObject({ visible: true, allPackages: true });
    await model.workspaces.addAdmin(slug, 'boss@example.com', TEST_ORIGIN);
    expect(await model.access.visibility('boss@example.com', slug)).toMatchObject({ visible: true, allPackages: true });
    await model.workspaces.updateSettings(slug, { publicPull: true }, TEST_ORIGIN);
    expect(await model.access.visibility('', slug)).toMatchObject({ visible: true, allPackages: true });
    expect(await model.access.visibility('stranger@example.com', 'no-such-workspace')).toMatchObject({ visible: false });
  });
});
