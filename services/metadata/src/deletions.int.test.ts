import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { createMetadataModel, type MetadataModel } from './metadata-model';
import { digestOf, uniqueRepository, withTestbed, TEST_ORIGIN } from './metadata-testbed';

const IMAGE = 'application/vnd.oci.image.manifest.v1+json';

describe('Deletions against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;
  withTestbed((testbed) => ({ pool, model } = testbed));

  it('deletes an image (every manifest and tag) with their events and announces the removal; a tag or a blob link one at a time', async () => {
    const repository = uniqueRepository();
    const workspace = repository.split('/')[0];
    const announced: string[] = [];
    const removing = createMetadataModel(pool, { removals: { announce: async (subject) => void announced.push(subject) } });
    const events = async () => (await pool.query<{ action: string }>('SELECT action FROM outbox WHERE repository = $1 ORDER BY id', [repository])).rows.map((row) => row.action);
    const layer = { digest: digestOf(randomBytes(16)), size: 16, storageKey: `blobs/${randomBytes(4).toString('hex')}` };
    await removing.blobs.link(repository, layer, undefined, TEST_ORIGIN);
    for (const [text, tags] of [['one', ['v1', 'latest']], ['two', ['v2']]] as const) {
      const content = Buffer.from(`{"schemaVersion":2,"image":"${text}"}`);
      await removing.manifests.put({ origin: TEST_ORIGIN, repository, tags: [...tags], digest: digestOf(content), mediaType: IMAGE, content, blobDigests: [], manifestDigests: [] });
    }

    await expect(removing.deletions.deleteTag(repository, 'nope', TEST_ORIGIN)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    await removing.deletions.deleteTag(repository, 'latest', TEST_ORIGIN);
    expect(announced).toEqual([]); // a tag's removal removes no content
    expect(await removing.deletions.deleteImage(repository, TEST_ORIGIN)).toEqual({ manifests: 2, tags: 2 });
    expect(announced).toEqual([`content:${workspace}`]);
    expect(await events()).toEqual(['manifest.pushed', 'tag.updated', 'tag.updated', 'manifest.pushed', 'tag.updated', 'tag.deleted', 'tag.deleted', 'tag.deleted', 'manifest.deleted', 'manifest.deleted']);
    await expect(removing.manifests.get(repository, 'v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });
    await expect(removing.deletions.deleteImage(repository, TEST_ORIGIN)).rejects.toMatchObject({ code: 'NAME_UNKNOWN' });
    await expect(removing.deletions.deleteManifest(repository, digestOf('never pushed'), TEST_ORIGIN)).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });

    // Blobs stay linked (garbage collection frees them later) until unlinked.
    expect(await removing.blobs.stat(repository, layer.digest)).toEqual(layer);
    await removing.deletions.unlinkBlob(repository, layer.digest, TEST_ORIGIN);
    expect(announced).toEqual([`content:${workspace}`, `content:${workspace}`]);
    await expect(removing.deletions.unlinkBlob(repository, layer.digest, TEST_ORIGIN)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
    await expect(model.blobs.stat(repository, layer.digest)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
  });
});
