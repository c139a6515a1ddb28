import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from './access';
import type { MetadataModel } from './metadata-model';
import { digestOf, uniqueRepository, withTestbed, TEST_ORIGIN } from './metadata-testbed';
import { MAX_TAG_LOOKUPS } from './tags';

describe('Tags against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('resolves many tags in one call, in the order asked, without content for HEADs', async () => {
    const repository = uniqueRepository();
    const other = uniqueRepository();
    const put = async (repo: string, tag: string, text: string) => {
      const content = Buffer.from(`{"schemaVersion":2,"annotations":{"t":"${text}"}}`);
      await model.manifests.put({ origin: TEST_ORIGIN, repository: repo, tags: [tag], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] });
      return { digest: digestOf(content), content };
    };
    const v1 = await put(repository, 'v1', 'one');
    const v2 = await put(repository, 'v2', 'two');
    const elsewhere = await put(other, 'v3', 'three');
    const found = await model.tags.resolve([
      { repository, tag: 'v2', withoutContent: false },
      { repository, tag: 'v3', withoutContent: false }, // v3 is the other repository's
      { repository, tag: 'v1', withoutContent: true },
      { repository: other, tag: 'v3', withoutContent: false },
      { repository, tag: 'v2', withoutContent: false },
    ]);
    expect(found.map((m) => m?.digest)).toEqual([v2.digest, undefined, v1.digest, elsewhere.digest, v2.digest]);
    expect(found[0]!.content.equals(v2.content)).toBe(true);
    expect(found[2]!.content.length).toBe(0);
    expect(found[2]!.size).toBe(v1.content.length);
    expect(await model.tags.resolve([])).toEqual([]);
    await expect(model.tags.resolve([{ repository, tag: 'bad tag!', withoutContent: true }])).rejects.toMatchObject({ code: 'MANIFEST_INVALID' });
    await expect(model.tags.resolve(Array.from({ length: MAX_TAG_LOOKUPS + 1 }, () => ({ repository, tag: 'v1', withoutContent: true })))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('moves a tag to the newest manifest and lists tags in lexical order with pages', async () => {
    const repository = uniqueRepository();
    const put = async (tag: string, body: string) => {
      const content = Buffer.from(body);
      return model.manifests.put({ origin: TEST_ORIGIN, repository, tags: [tag], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] });
    };
    await put('latest', '{"a":1}');
    const newest = await put('latest', '{"a":2}');
    expect((await model.manifests.get(repository, 'latest')).digest).toBe(newest);
    for (const tag of ['b', 'B', 'a', '1.0', 'a-1']) await put(tag, `{"tag":"${tag}"}`);
    const first = await model.tags.list(repository, 3, '');
    expect(first).toEqual({ tags: ['1.0', 'B', 'a'], hasMore: true });
    const second = await model.tags.list(repository, 3, 'a');
    expect(second).toEqual({ tags: ['a-1', 'b', 'latest'], hasMore: false });
    await expect(model.tags.list(uniqueRepository(), 10, '')).rejects.toMatchObject({ code: 'NAME_UNKNOWN' });
  });

  it('lists no tags (not NAME_UNKNOWN) for a package whose manifests were all deleted', async () => {
    const workspace = `empty${randomBytes(4).toString('hex')}`;
    await model.workspaces.create({ requestId: '', slug: workspace, name: '', organization: 'org' }, TEST_ORIGIN);
    await model.projects.create({ requestId: '', workspaceSlug: workspace, slug: 'p', name: '' }, TEST_ORIGIN);
    const linked = await model.sourceRepositories.create({ requestId: '', workspaceSlug: workspace, projectSlug: 'p', slug: 'r', name: '' }, TEST_ORIGIN);
    await model.packages.create({ requestId: '', workspaceSlug: workspace, name: 'tools/app', sourceRepositoryId: linked.id, actorUserId: OPERATOR }, TEST_ORIGIN);
    const content = Buffer.from('{"emptied":true}');
    await model.manifests.put({ origin: TEST_ORIGIN, repository: `${workspace}/tools/app`, tags: ['v1'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] });
    await model.deletions.deleteManifest(`${workspace}/tools/app`, digestOf(content), TEST_ORIGIN);
    expect(await model.tags.list(`${workspace}/tools/app`, 10, '')).toEqual({ tags: [], hasMore: false });
    // A name that is no package and holds nothing stays unknown, in that workspace or as a longer name.
    await expect(model.tags.list(`${workspace}/other`, 10, '')).rejects.toMatchObject({ code: 'NAME_UNKNOWN' });
    await expect(model.tags.list(`${workspace}/tools/app/more`, 10, '')).rejects.toMatchObject({ code: 'NAME_UNKNOWN' });
  });
});
