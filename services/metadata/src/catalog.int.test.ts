import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from './access';
import type { MetadataModel } from './metadata-model';
import { digestOf, withTestbed, TEST_ORIGIN } from './metadata-testbed';

describe('Catalog against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('lists in the catalog, in lexical order and a page at a time, only the repositories whose packages the viewer has a role on', async () => {
    const workspace = `cat${randomBytes(4).toString('hex')}`;
    // A reader of this test's own: other files in the same database give roles to readers too, and the catalog spans workspaces (public ones for everyone).
    const reader = `reader-${randomBytes(4).toString('hex')}`;
    await model.workspaces.create({ requestId: '', slug: workspace, name: '', organization: 'org' }, TEST_ORIGIN);
    await model.projects.create({ requestId: '', workspaceSlug: workspace, slug: 'p', name: '' }, TEST_ORIGIN);
    const shared = await model.sourceRepositories.create({ requestId: '', workspaceSlug: workspace, projectSlug: 'p', slug: 'shared', name: '' }, TEST_ORIGIN);
    const secret = await model.sourceRepositories.create({ requestId: '', workspaceSlug: workspace, projectSlug: 'p', slug: 'secret', name: '' }, TEST_ORIGIN);
    for (const [image, repository] of [['b', shared], ['a', shared], ['c/d', shared], ['hidden', secret], ['granted', secret]] as const) {
      await model.packages.create({ requestId: '', workspaceSlug: workspace, name: image, sourceRepositoryId: repository.id, actorUserId: OPERATOR }, TEST_ORIGIN);
      const content = Buffer.from(`{"image":"${image}"}`);
      await model.manifests.put({ origin: TEST_ORIGIN, repository: `${workspace}/${image}`, tags: ['v1', 'v2'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] });
    }
    await model.memberships.set(shared.id, reader, 'read', TEST_ORIGIN);
    await model.packages.setGrant(workspace, 'granted', reader, 'read', TEST_ORIGIN);
    const first = await model.catalog.list(2, workspace, reader); // from just before this workspace: others sort first
    expect(first.repositories).toEqual([`${workspace}/a`, `${workspace}/b`]);
    expect(first.hasMore).toBe(true);
    // The page after b: this workspace's next two (public workspaces of other files in the same database may follow).
    expect((await model.catalog.list(2, `${workspace}/b`, reader)).repositories).toEqual([`${workspace}/c/d`, `${workspace}/granted`]);
    expect((await model.catalog.list(1000, `${workspace}/b`, reader)).repositories.filter((r) => r.startsWith(`${workspace}/`))).toEqual([`${workspace}/c/d`, `${workspace}/granted`]);
    expect((await model.catalog.list(1000, '', 'nobody-here')).repositories.filter((r) => r.startsWith(`${workspace}/`))).toEqual([]);
    expect((await model.catalog.list(1000, '', '')).repositories.filter((r) => r.startsWith(`${workspace}/`))).toEqual([]);
    await model.workspaces.updateSettings(workspace, { publicPull: true }, TEST_ORIGIN);
    expect((await model.catalog.list(1000, '', '')).repositories.filter((r) => r.startsWith(`${workspace}/`))).toHaveLength(5);
    await expect(model.catalog.list(10, 'bad\u0000marker', reader)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.tags.list(`${workspace}/a`, 10, 'x\u0000')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
