import { describe, expect, it } from 'vitest';
import type { MetadataModel } from './metadata-model';
import { unique, withTestbed, world, TEST_ORIGIN } from './metadata-testbed';

describe('Packages against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('needs a linked organization before packages can be created', async () => {
    const slug = unique('ws');
    await model.workspaces.create({ requestId: '', slug, name: '', organization: '' }, TEST_ORIGIN);
    await model.projects.create({ requestId: '', workspaceSlug: slug, slug: 'p', name: '' }, TEST_ORIGIN);
    const repo = await model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'p', slug: 'r', name: '' }, TEST_ORIGIN);
    await expect(model.packages.create({ requestId: '', workspaceSlug: slug, name: 'app', sourceRepositoryId: repo.id, actorUserId: '' }, TEST_ORIGIN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await model.workspaces.updateSettings(slug, { organization: 'acme-org' }, TEST_ORIGIN);
    await expect(model.packages.create({ requestId: '', workspaceSlug: slug, name: 'app', sourceRepositoryId: repo.id, actorUserId: '' }, TEST_ORIGIN)).resolves.toMatchObject({ name: 'app' });
  });

  it('lets only an Admin of the repository create a package there', async () => {
    const { slug, api } = await world(model);
    await model.memberships.set(api.id, 'writer@example.com', 'write', TEST_ORIGIN);
    await model.memberships.set(api.id, 'admin@example.com', 'admin', TEST_ORIGIN);
    await expect(model.packages.create({ requestId: '', workspaceSlug: slug, name: 'tools/cli', sourceRepositoryId: api.id, actorUserId: 'writer@example.com' }, TEST_ORIGIN)).rejects.toMatchObject({ code: 'DENIED' });
    const created = await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'tools/cli', sourceRepositoryId: api.id, actorUserId: 'admin@example.com' }, TEST_ORIGIN);
    expect(created).toMatchObject({ workspaceSlug: slug, name: 'tools/cli', sourceRepositoryId: api.id });
  });

  it('pages through lists with opaque tokens', async () => {
    const { slug, api } = await world(model);
    for (const name of ['a', 'b', 'c', 'd', 'e']) await model.packages.create({ requestId: '', workspaceSlug: slug, name, sourceRepositoryId: api.id, actorUserId: '' }, TEST_ORIGIN);
    const first = await model.packages.list(slug, 2, '');
    const second = await model.packages.list(slug, 2, first.nextPageToken);
    const third = await model.packages.list(slug, 2, second.nextPageToken);
    expect([...first.items, ...second.items, ...third.items].map((p) => p.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(third.nextPageToken).toBe('');
  });
});
