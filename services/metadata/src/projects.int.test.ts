import { describe, expect, it } from 'vitest';
import type { MetadataModel } from './metadata-model';
import { withTestbed, world, TEST_ORIGIN } from './metadata-testbed';

describe('Projects against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('reads and renames projects and repositories', async () => {
    const { slug, api } = await world(model);
    expect(await model.projects.rename(slug, 'platform', 'Platform Team', TEST_ORIGIN)).toMatchObject({ slug: 'platform', name: 'Platform Team' });
    expect((await model.projects.get(slug, 'platform')).name).toBe('Platform Team');
    expect(await model.sourceRepositories.rename(api.id, 'Public API', TEST_ORIGIN)).toMatchObject({ id: api.id, slug: 'api', name: 'Public API' });
    expect((await model.sourceRepositories.get(api.id)).name).toBe('Public API');
    await expect(model.projects.get(slug, 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
