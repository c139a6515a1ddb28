import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { OPERATOR } from './access';
import { ListingSnapshot } from './listing-snapshot';
import type { MetadataModel } from './metadata-model';
import { withTestbed, world, TEST_ORIGIN } from './metadata-testbed';
import type { EventEnvelope } from './outbox';

describe('ListingSnapshot against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;
  withTestbed((testbed) => ({ pool, model } = testbed));

  it('exports a listing snapshot whose events match the outbox: same targets, same times', async () => {
    const { slug, api, web } = await world(model);
    await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'server', sourceRepositoryId: api.id, actorUserId: '' }, TEST_ORIGIN);
    await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'site', sourceRepositoryId: web.id, actorUserId: '' }, TEST_ORIGIN);
    await model.packages.link(slug, 'site', api.id, OPERATOR, TEST_ORIGIN);
    const layer = { digest: `sha256:${randomBytes(32).toString('hex')}`, size: 5000, storageKey: 'blobs/l' };
    await model.blobs.link(`${slug}/server`, layer, undefined, TEST_ORIGIN);
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: layer.digest, size: 5000 }, layers: [] }));
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const push = { repository: `${slug}/server`, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [layer.digest], manifestDigests: [], platform: 'linux/arm64/v8', created: '2026-01-02T03:04:05Z' };
    await model.manifests.put({ origin: TEST_ORIGIN, ...push, tags: ['v1'] });
    await model.manifests.put({ origin: TEST_ORIGIN, ...push, tags: ['v1', 'latest'] }); // moves v1 again: only its latest time counts

    const snapshot = new ListingSnapshot(pool);
    const exported: EventEnvelope[] = [];
    for (let token = '', first = true; first || token; first = false) {
      const page = await snapshot.page(1, token);
      exported.push(...page.events.filter((event) => event.target.workspace === slug));
      token = page.nextPageToken;
    }
    const { rows } = await pool.query<{ envelope: EventEnvelope }>("SELECT envelope FROM outbox WHERE split_part(repository, '/', 1) = $1 ORDER BY id", [slug]);
    // The state the outbox describes: the last event per package / manifest / tag.
    const latest = new Map<string, EventEnvelope>();
    const keyOf = (e: EventEnvelope) => [e.action, e.target.repository, e.action === 'manifest.pushed' ? e.target.digest : '', e.target.tag ?? ''].join(' ');
    for (const { envelope } of rows) latest.set(keyOf(envelope), envelope);
    const comparable = (events: EventEnvelope[]) => events.map((e) => ({ action: e.action, time: e.time, target: e.action === 'tag.updated' ? { ...e.target, mediaType: undefined, size: undefined, manifest: undefined } : e.target })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(comparable(exported)).toEqual(comparable([...latest.values()]));
    expect(exported.find((e) => e.action === 'manifest.pushed')?.target.manifest).toMatchObject({ kind: 'image', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, created: '2026-01-02T03:04:05.000Z', config: { size: 5000 } });
    expect(exported.find((e) => e.action === 'package.linked' && e.target.package === 'site')?.target).toMatchObject({ linkedRepositoryId: api.id, project: 'platform' });
  });
});
