import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MetadataModel } from './metadata-model';
import { unique, withTestbed, world, TEST_ORIGIN } from './metadata-testbed';

describe('SourceRepositories against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('creates a source repository once per request id in an existing project, and lists them by project a page at a time', async () => {
    const { slug, api, web } = await world(model);
    const requestId = unique('req');
    const cli = await model.sourceRepositories.create({ requestId, workspaceSlug: slug, projectSlug: 'platform', slug: 'cli', name: '' }, TEST_ORIGIN);
    expect(cli).toMatchObject({ workspaceSlug: slug, projectSlug: 'platform', slug: 'cli', name: 'cli' });
    expect(await model.sourceRepositories.create({ requestId, workspaceSlug: slug, projectSlug: 'platform', slug: 'cli', name: '' }, TEST_ORIGIN)).toEqual(cli);
    await expect(model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'platform', slug: 'cli', name: '' }, TEST_ORIGIN)).rejects.toMatchObject({ code: 'ALREADY_EXISTS', detail: { field: 'slug' } });
    await expect(model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'nope', slug: 'cli', name: '' }, TEST_ORIGIN)).rejects.toMatchObject({ code: 'NOT_FOUND', detail: { field: 'project_slug' } });

    await model.projects.create({ requestId: '', workspaceSlug: slug, slug: 'other', name: '' }, TEST_ORIGIN);
    const tools = await model.sourceRepositories.create({ requestId: '', workspaceSlug: slug, projectSlug: 'other', slug: 'tools', name: 'Tools' }, TEST_ORIGIN);
    const first = await model.sourceRepositories.list(slug, '', 2, '');
    const second = await model.sourceRepositories.list(slug, '', 2, first.nextPageToken);
    expect([...first.items, ...second.items].map((r) => r.id)).toEqual([tools.id, api.id, cli.id, web.id]);
    expect(second.nextPageToken).toBe('');
    expect((await model.sourceRepositories.list(slug, 'other', 50, '')).items).toEqual([tools]);
    expect((await model.sourceRepositories.list(slug, '', 50, '', [web.id, tools.id])).items.map((r) => r.slug)).toEqual(['tools', 'web']);

    expect(await model.sourceRepositories.get(tools.id)).toEqual(tools);
    await expect(model.sourceRepositories.get('not-a-uuid')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'source_repository_id' } });
    await expect(model.sourceRepositories.get(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND', detail: { field: 'source_repository_id' } });
  });
});
