import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { migrate } from './migrate';
import { OPERATOR } from './access';
import { createMetadataModel, type MetadataModel } from './metadata-model';
import { MAX_TAG_LOOKUPS } from './tags';

const digestOf = (content: Buffer | string) => `sha256:${createHash('sha256').update(content).digest('hex')}`;
const uniqueRepository = () => `ws${randomBytes(4).toString('hex')}/app`;

describe('RegistryMetadata against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;

  beforeAll(async () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    await migrate(process.env.DATABASE_URL!, logger);
    await migrate(process.env.DATABASE_URL!, logger); // idempotent
    pool = new Pool({ connectionString: process.env.DATABASE_URL });
    model = createMetadataModel(pool);
  });

  afterAll(async () => {
    await pool?.end();
  });

  async function pushBlob(repository: string, content = randomBytes(32)) {
    const digest = digestOf(content);
    await model.blobs.link(repository, { digest, size: content.length, storageKey: `blobs/${randomBytes(4).toString('hex')}` });
    return digest;
  }

  it('links a blob once per digest and scopes it to repositories', async () => {
    const repository = uniqueRepository();
    const content = randomBytes(10);
    const digest = digestOf(content);
    const first = await model.blobs.link(repository, { digest, size: 10, storageKey: 'blobs/first' });
    const second = await model.blobs.link(`${repository}2`, { digest, size: 10, storageKey: 'blobs/second' });
    expect(first.alreadyExisted).toBe(false);
    expect(second).toEqual({ blob: { digest, size: 10, storageKey: 'blobs/first' }, alreadyExisted: true });
    expect(await model.blobs.stat(repository, digest)).toEqual({ digest, size: 10, storageKey: 'blobs/first' });
    await expect(model.blobs.stat(`${repository}x`, digest)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
  });

  it('stores a manifest byte for byte and resolves it by tag and digest', async () => {
    const repository = uniqueRepository();
    const config = await pushBlob(repository);
    const layer = await pushBlob(repository);
    // Odd spacing and key order must survive: the digest is of these exact bytes.
    const content = Buffer.from(`{"schemaVersion":2,  "config":{"digest":"${config}"},"layers":[{"digest":"${layer}"}]}\n`);
    const digest = await model.manifests.put({ repository, tags: ['v1'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [config, layer], manifestDigests: [] });
    expect(digest).toBe(digestOf(content));
    const byTag = await model.manifests.get(repository, 'v1');
    expect(byTag.content.equals(content)).toBe(true);
    expect(byTag.digest).toBe(digest);
    expect((await model.manifests.get(repository, digest)).mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
  });

  it('resolves many tags in one call, in the order asked, without content for HEADs', async () => {
    const repository = uniqueRepository();
    const other = uniqueRepository();
    const put = async (repo: string, tag: string, text: string) => {
      const content = Buffer.from(`{"schemaVersion":2,"annotations":{"t":"${text}"}}`);
      await model.manifests.put({ repository: repo, tags: [tag], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] });
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

  it('refuses a manifest whose blobs are not in the repository', async () => {
    const repository = uniqueRepository();
    const elsewhere = await pushBlob(`${repository}other`);
    const content = Buffer.from(`{"layers":[{"digest":"${elsewhere}"}]}`);
    await expect(
      model.manifests.put({ repository, tags: ['v1'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [elsewhere], manifestDigests: [] }),
    ).rejects.toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN', detail: { missing: [elsewhere] } });
    await expect(model.manifests.get(repository, 'v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });

  it('refuses content that does not match the digest', async () => {
    const repository = uniqueRepository();
    await expect(
      model.manifests.put({ repository, tags: [], digest: digestOf('something else'), mediaType: 'x', content: Buffer.from('{}'), blobDigests: [], manifestDigests: [] }),
    ).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });

  it('moves a tag to the newest manifest and lists tags in lexical order with pages', async () => {
    const repository = uniqueRepository();
    const put = async (tag: string, body: string) => {
      const content = Buffer.from(body);
      return model.manifests.put({ repository, tags: [tag], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] });
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

  it('lists in the catalog, in lexical order and a page at a time, only the repositories whose packages the viewer has a role on', async () => {
    const workspace = `cat${randomBytes(4).toString('hex')}`;
    await model.workspaces.create({ requestId: '', slug: workspace, name: '', organization: 'org' });
    await model.projects.create({ requestId: '', workspaceSlug: workspace, slug: 'p', name: '' });
    const shared = await model.sourceRepositories.create({ requestId: '', workspaceSlug: workspace, projectSlug: 'p', slug: 'shared', name: '' });
    const secret = await model.sourceRepositories.create({ requestId: '', workspaceSlug: workspace, projectSlug: 'p', slug: 'secret', name: '' });
    for (const [image, repository] of [['b', shared], ['a', shared], ['c/d', shared], ['hidden', secret], ['granted', secret]] as const) {
      await model.packages.create({ requestId: '', workspaceSlug: workspace, name: image, repositoryId: repository.id, actorUserId: OPERATOR });
      const content = Buffer.from(`{"image":"${image}"}`);
      await model.manifests.put({ repository: `${workspace}/${image}`, tags: ['v1', 'v2'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] });
    }
    await model.memberships.set(shared.id, 'reader-1', 'read');
    await model.packages.setGrant(workspace, 'granted', 'reader-1', 'read');
    const first = await model.catalog.list(2, '', 'reader-1');
    expect(first.repositories).toEqual([`${workspace}/a`, `${workspace}/b`]);
    expect(first.hasMore).toBe(true);
    expect(await model.catalog.list(10, `${workspace}/b`, 'reader-1')).toEqual({ repositories: [`${workspace}/c/d`, `${workspace}/granted`], hasMore: false });
    expect((await model.catalog.list(1000, '', 'nobody-here')).repositories.filter((r) => r.startsWith(`${workspace}/`))).toEqual([]);
    expect((await model.catalog.list(1000, '', '')).repositories.filter((r) => r.startsWith(`${workspace}/`))).toEqual([]);
    await model.workspaces.updateSettings(workspace, { publicPull: true });
    expect((await model.catalog.list(1000, '', '')).repositories.filter((r) => r.startsWith(`${workspace}/`))).toHaveLength(5);
    await expect(model.catalog.list(10, 'bad\u0000marker', 'reader-1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.tags.list(`${workspace}/a`, 10, 'x\u0000')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('leaves exactly one winner and a consistent tag when the same tag is pushed concurrently', async () => {
    const repository = uniqueRepository();
    const contents = Array.from({ length: 12 }, (_, i) => Buffer.from(`{"schemaVersion":2,"push":${i}}`));
    const results = await Promise.allSettled(
      contents.map((content) => model.manifests.put({ repository, tags: ['latest'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] })),
    );
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    const tagged = await model.manifests.get(repository, 'latest');
    const winner = contents.find((content) => digestOf(content) === tagged.digest);
    expect(winner).toBeDefined();
    expect(tagged.content.equals(winner!)).toBe(true);
    // Every pushed manifest is still there by digest, and the tag exists once.
    for (const content of contents) expect((await model.manifests.get(repository, digestOf(content))).content.equals(content)).toBe(true);
    expect((await model.tags.list(repository, 10, '')).tags).toEqual(['latest']);
  });

  it('writes events to the outbox in the same transaction as the change, and none when the change fails', async () => {
    const repository = uniqueRepository();
    const events = async () =>
      (await pool.query<{ action: string; envelope: Record<string, any> }>('SELECT action, envelope FROM outbox WHERE repository = $1 ORDER BY id', [repository])).rows;
    const origin = { actor: 'user-1', requestId: 'req-1' };
    const content = Buffer.from('{"schemaVersion":2,"events":true}');
    const put = () => model.manifests.put({ repository, tags: ['v1', 'latest'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [], origin });

    const missing = `sha256:${'0'.repeat(64)}`;
    await expect(model.manifests.put({ repository, tags: ['broken'], digest: digestOf('{}'), mediaType: 'x', content: Buffer.from('{}'), blobDigests: [missing], manifestDigests: [] })).rejects.toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN' });
    expect(await events()).toEqual([]);

    await put();
    const afterPush = await events();
    expect(afterPush.map((e) => e.action)).toEqual(['manifest.pushed', 'tag.updated', 'tag.updated']);
    expect(afterPush[0]!.envelope).toMatchObject({ schemaVersion: 1, action: 'manifest.pushed', actor: 'user-1', requestId: 'req-1', target: { repository, digest: digestOf(content), size: content.length } });
    expect(afterPush[1]!.envelope.target.tag).toBe('v1');

    await put(); // the same bytes again: tags are (re)set, the manifest is not new
    expect((await events()).map((e) => e.action).slice(3)).toEqual(['tag.updated', 'tag.updated']);

    await model.deletions.deleteTag(repository, 'v1', origin);
    await model.deletions.deleteManifest(repository, digestOf(content), origin);
    expect((await events()).map((e) => e.action).slice(5)).toEqual(['tag.deleted', 'tag.deleted', 'manifest.deleted']);
  });

  it('validates names and digests before any SQL', async () => {
    await expect(model.blobs.stat("acme/app'; drop table blobs; --", digestOf('x'))).rejects.toMatchObject({ code: 'NAME_INVALID' });
    await expect(model.blobs.stat('acme/app', 'sha256:../../etc')).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    await expect(model.manifests.get('acme/app', 'bad tag!')).rejects.toMatchObject({ code: 'MANIFEST_INVALID' });
  });
});
