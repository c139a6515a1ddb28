import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import type { MetadataModel } from './metadata-model';
import { withTestbed, world, TEST_ORIGIN } from './metadata-testbed';

describe('StorageUsage against PostgreSQL', () => {
  let model: MetadataModel;
  let pool: Pool;
  withTestbed((testbed) => ({ model, pool } = testbed));

  it('enforces the storage quota at the byte boundary, counting each blob once per workspace', async () => {
    const { slug } = await world(model);
    const blob = (size: number) => {
      const digest = `sha256:${randomBytes(32).toString('hex')}`;
      return { digest, size, storageKey: `blobs/${digest.slice(7, 19)}` };
    };
    await model.workspaces.updateSettings(slug, { plan: 'small', storageQuotaBytes: 1000 }, TEST_ORIGIN);
    const first = blob(600);
    await model.blobs.link(`${slug}/a`, first, undefined, TEST_ORIGIN);
    await model.blobs.link(`${slug}/a`, blob(400), undefined, TEST_ORIGIN); // exactly at the quota
    await expect(model.blobs.link(`${slug}/b`, blob(1), undefined, TEST_ORIGIN)).rejects.toMatchObject({ code: 'DENIED', httpStatus: 403, message: expect.stringContaining('quota') });
    await model.blobs.link(`${slug}/b`, first, undefined, TEST_ORIGIN); // already stored in the workspace: free

    // The link that crossed 90% of the quota (600 -> 1000 of 1000) announced it, once; the refused one did not.
    const nearlyFull = await pool.query<{ repository: string; envelope: { target: { summary: Record<string, number> } } }>("SELECT repository, envelope FROM outbox WHERE split_part(repository, '/', 1) = $1 AND action = 'quota.nearly-full'", [slug]);
    expect(nearlyFull.rows.map((r) => [r.repository, r.envelope.target.summary])).toEqual([[`${slug}/a`, { usedBytes: 1000, quotaBytes: 1000, percent: 100 }]]);

    const usage = await model.usage.ofWorkspace(slug);
    expect(usage).toEqual({ workspaceBytes: 1000, storageQuotaBytes: 1000, repositories: [{ repository: `${slug}/a`, bytes: 1000 }, { repository: `${slug}/b`, bytes: 600 }] });

    // Lowering the quota under the usage stops manifest pushes, with a clear error.
    await model.workspaces.updateSettings(slug, { storageQuotaBytes: 999 }, TEST_ORIGIN);
    const content = Buffer.from('{"quota":true}');
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    await expect(model.manifests.put({ origin: TEST_ORIGIN, repository: `${slug}/a`, tags: ['v1'], digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] })).rejects.toMatchObject({ code: 'DENIED' });
    await model.workspaces.updateSettings(slug, { unlimitedStorage: true }, TEST_ORIGIN);
    await expect(model.manifests.put({ origin: TEST_ORIGIN, repository: `${slug}/a`, tags: ['v1'], digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [], manifestDigests: [] })).resolves.toBe(digest);
    expect((await model.workspaces.get(slug)).storageQuotaBytes).toBeUndefined();
  });
});
