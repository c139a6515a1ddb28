import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import type { MetadataModel } from './metadata-model';
import { digestOf, uniqueRepository, withTestbed, TEST_ORIGIN } from './metadata-testbed';

describe('Manifests against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;
  withTestbed((testbed) => ({ pool, model } = testbed));

  async function pushBlob(repository: string, content = randomBytes(32)) {
    const digest = digestOf(content);
    await model.blobs.link(repository, { digest, size: content.length, storageKey: `blobs/${randomBytes(4).toString('hex')}` }, undefined, TEST_ORIGIN);
    return digest;
  }

  it('stores a manifest byte for byte and resolves it by tag and digest', async () => {
    const repository = uniqueRepository();
    const config = await pushBlob(repository);
    const layer = await pushBlob(repository);
    // Odd spacing and key order must survive: the digest is of these exact bytes.
    const content = Buffer.from(`{"schemaVersion":2,  "config":{"digest":"${config}"},"layers":[{"digest":"${layer}"}]}\n`);
    const digest = await model.manifests.put({ origin: TEST_ORIGIN, repository, tags: ['v1'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [config, layer], manifestDigests: [] });
    expect(digest).toBe(digestOf(content));
    const byTag = await model.manifests.get(repository, 'v1');
    expect(byTag.content.equals(content)).toBe(true);
    expect(byTag.digest).toBe(digest);
    expect((await model.manifests.get(repository, digest)).mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
  });

  it('refuses a manifest whose blobs are not in the repository', async () => {
    const repository = uniqueRepository();
    const elsewhere = await pushBlob(`${repository}other`);
    const content = Buffer.from(`{"layers":[{"digest":"${elsewhere}"}]}`);
    await expect(
      model.manifests.put({ origin: TEST_ORIGIN, repository, tags: ['v1'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [elsewhere], manifestDigests: [] }),
    ).rejects.toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN', detail: { missing: [elsewhere] } });
    await expect(model.manifests.get(repository, 'v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
  });

  it('refuses content that does not match the digest', async () => {
    const repository = uniqueRepository();
    await expect(
      model.manifests.put({ origin: TEST_ORIGIN, repository, tags: [], digest: digestOf('something else'), mediaType: 'x', content: Buffer.from('{}'), blobDigests: [], manifestDigests: [] }),
    ).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });

  it('leaves exactly one winner and a consistent tag when the same tag is pushed concurrently', async () => {
    const repository = uniqueRepository();
    const contents = Array.from({ length: 12 }, (_, i) => Buffer.from(`{"schemaVersion":2,"push":${i}}`));
    const results = await Promise.allSettled(
      contents.map((content) => model.manifests.put({ origin: TEST_ORIGIN, repository, tags: ['latest'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] })),
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
    const origin = { ...TEST_ORIGIN, userId: 'user-1', requestId: 'req-1' };
    const content = Buffer.from('{"schemaVersion":2,"events":true}');
    const put = () => model.manifests.put({ repository, tags: ['v1', 'latest'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [], origin });

    const missing = `sha256:${'0'.repeat(64)}`;
    await expect(model.manifests.put({ origin: TEST_ORIGIN, repository, tags: ['broken'], digest: digestOf('{}'), mediaType: 'x', content: Buffer.from('{}'), blobDigests: [missing], manifestDigests: [] })).rejects.toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN' });
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
});
