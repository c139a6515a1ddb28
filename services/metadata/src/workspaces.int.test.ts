import { describe, expect, it } from 'vitest';
import type { MetadataModel } from './metadata-model';
import { unique, withTestbed, world, TEST_ORIGIN } from './metadata-testbed';

describe('Workspaces against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('creates idempotently by request id and refuses a second create of the same slug', async () => {
    const slug = unique('ws');
    const requestId = unique('req');
    const first = await model.workspaces.create({ requestId, slug, name: 'First', organization: '' }, TEST_ORIGIN);
    const retried = await model.workspaces.create({ requestId, slug, name: 'First', organization: '' }, TEST_ORIGIN);
    expect(retried.id).toBe(first.id);
    await expect(model.workspaces.create({ requestId: '', slug, name: 'Again', organization: '' }, TEST_ORIGIN)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('names the field at fault for bad input', async () => {
    await expect(model.workspaces.create({ requestId: '', slug: 'Not A Slug', name: '', organization: '' }, TEST_ORIGIN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'slug' } });
    const { slug } = await world(model);
    await expect(model.packages.create({ requestId: '', workspaceSlug: slug, name: 'app', sourceRepositoryId: 'nope', actorUserId: '' }, TEST_ORIGIN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'source_repository_id' } });
    await expect(model.workspaces.list(10, 'garbage')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'page_token' } });
    await expect(model.workspaces.get(unique('missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('pages through only the workspaces a user may see: no empty page while more follow', async () => {
    const user = `${unique('pager')}@example.com`;
    const hidden = [await world(model), await world(model)];
    const mine = await world(model);
    await model.memberships.set(mine.api.id, user, 'read', TEST_ORIGIN);
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

  it('deletes only what is empty, saying what is in the way', async () => {
    const { slug, api, web } = await world(model);
    await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'pkg', sourceRepositoryId: api.id, actorUserId: '' }, TEST_ORIGIN);
    await expect(model.sourceRepositories.delete(api.id, TEST_ORIGIN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('packages still link') });
    await expect(model.projects.delete(slug, 'platform', TEST_ORIGIN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(model.workspaces.delete(slug, TEST_ORIGIN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await model.packages.delete(slug, 'pkg', TEST_ORIGIN);
    await model.sourceRepositories.delete(api.id, TEST_ORIGIN);
    await model.sourceRepositories.delete(web.id, TEST_ORIGIN);
    await model.projects.delete(slug, 'platform', TEST_ORIGIN);
    await model.workspaces.delete(slug, TEST_ORIGIN);
    await expect(model.workspaces.get(slug)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
