import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { describeManifest } from '@ocireg/oci';
import { runMigrations } from '@ocireg/postgres';
import { createDatabase } from '@ocireg/testenv';
import { Listings, type ImageVisibility } from './listings';

const ALL: ImageVisibility = { allPackages: true, sourceRepositoryIds: [], packageNames: [] };
import { ReadModel, rejectionOf, type RegistryEvent } from './read-model';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const digestOf = (content: Buffer) => `sha256:${createHash('sha256').update(content).digest('hex')}`;
const randomDigest = () => `sha256:${randomBytes(32).toString('hex')}`;

/** Builds the events metadata would write for a workspace, with increasing times. */
function eventsFor(workspace: string) {
  let clock = Date.parse('2026-06-01T00:00:00.000Z');
  const event = (action: RegistryEvent['action'], target: Omit<RegistryEvent['target'], 'workspace'>): RegistryEvent => ({
    schemaVersion: 1,
    id: randomUUID(),
    time: new Date((clock += 1000)).toISOString(),
    action,
    target: { workspace, ...target },
    actor: '',
    requestId: 'test',
  });
  return {
    linked: (name: string, sourceRepositoryId: string, project: string) => event('package.linked', { repository: `${workspace}/${name}`, package: name, linkedRepositoryId: sourceRepositoryId, project }),
    pushed: (name: string, document: object, options: { platform?: string; created?: string } = {}) => {
      const content = Buffer.from(JSON.stringify(document));
      const mediaType = (document as { mediaType: string }).mediaType;
      const digest = digestOf(content);
      const pushedEvent = event('manifest.pushed', { repository: `${workspace}/${name}`, package: name, digest, mediaType, size: content.length, manifest: describeManifest({ mediaType, content, ...options }) });
      return { digest, size: content.length, event: pushedEvent };
    },
    tagged: (name: string, tag: string, digest: string) => event('tag.updated', { repository: `${workspace}/${name}`, package: name, digest, tag }),
    untagged: (name: string, tag: string) => event('tag.deleted', { repository: `${workspace}/${name}`, package: name, tag }),
    deleted: (name: string, digest: string) => event('manifest.deleted', { repository: `${workspace}/${name}`, package: name, digest }),
  };
}

describe('indexer read model against PostgreSQL', () => {
  let pool: Pool;
  let model: ReadModel;
  let listings: Listings;

  beforeAll(async () => {
    // Its own database: the rebuild below truncates the listing tables.
    const databaseUrl = await createDatabase(process.env.DATABASE_URL!, 'indexer_read_model');
    await runMigrations({ databaseUrl, dir: path.resolve(__dirname, '../migrations'), table: 'indexer_pgmigrations', logger: createLogger({ service: 'test', level: 'silent' }) });
    pool = new Pool({ connectionString: databaseUrl });
    model = new ReadModel(pool);
    listings = new Listings(pool);
  });

  afterAll(async () => {
    await pool?.end();
  });

  /** A workspace with a multi-arch image (two platforms and a buildx attestation), a signature, and a second image. */
  function scenario() {
    const workspace = `ws-${randomBytes(4).toString('hex')}`;
    const apiRepo = randomUUID();
    const webRepo = randomUUID();
    const e = eventsFor(workspace);
    const layer = { mediaType: LAYER, digest: randomDigest(), size: 5000 };
    const config = { mediaType: CONFIG, digest: randomDigest(), size: 300 };
    const amd64 = e.pushed('server', { schemaVersion: 2, mediaType: MANIFEST, config, layers: [layer] }, { platform: 'linux/amd64', created: '2026-05-01T10:00:00Z' });
    const arm64 = e.pushed('server', { schemaVersion: 2, mediaType: MANIFEST, config: { ...config, digest: randomDigest() }, layers: [layer] }, { platform: 'linux/arm64/v8' });
    const attestation = e.pushed('server', { schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: CONFIG, digest: randomDigest(), size: 10 }, layers: [{ mediaType: 'application/vnd.in-toto+json', digest: randomDigest(), size: 700 }] });
    const index = e.pushed('server', {
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [
        { mediaType: MANIFEST, digest: amd64.digest, size: amd64.size, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MANIFEST, digest: arm64.digest, size: arm64.size, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { mediaType: MANIFEST, digest: attestation.digest, size: attestation.size, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd64.digest } },
      ],
    });
    const signature = e.pushed('server', { schemaVersion: 2, mediaType: MANIFEST, artifactType: 'application/vnd.cncf.notary.signature', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: randomDigest(), size: 2 }, layers: [{ mediaType: 'application/jose+json', digest: randomDigest(), size: 40 }], subject: { mediaType: INDEX, digest: index.digest, size: index.size } });
    const site = e.pushed('site', { schemaVersion: 2, mediaType: MANIFEST, config: { ...config, digest: randomDigest() }, layers: [] });
    const events = [
      e.linked('server', apiRepo, 'platform'),
      e.linked('site', webRepo, 'web'),
      e.linked('empty', webRepo, 'web'),
      amd64.event,
      arm64.event,
      attestation.event,
      index.event,
      e.tagged('server', 'v1', index.digest),
      e.tagged('server', 'latest', index.digest),
      signature.event,
      site.event,
      e.tagged('site', 'v1', site.digest),
    ];
    return { workspace, apiRepo, webRepo, e, events, amd64, arm64, attestation, index, signature, site, layer, config };
  }

  async function applyAll(events: RegistryEvent[]): Promise<void> {
    for (const event of events) {
      expect(rejectionOf(event)).toBeUndefined();
      await model.apply(event);
    }
  }

  it('lists images by workspace, project and source repository, by name or last push, with prefix and pages', async () => {
    const s = scenario();
    await applyAll(s.events);
    const names = async (query: Partial<Parameters<Listings['listImages']>[0]>) => (await listings.listImages({ workspace: s.workspace, visibility: ALL, ...query })).images.map((i) => i.name);
    expect(await names({})).toEqual(['server', 'site']);
    expect(await names({ sort: 'last-pushed' })).toEqual(['site', 'server']);
    expect(await names({ project: 'web' })).toEqual(['site']);
    expect(await names({ sourceRepositoryId: s.apiRepo })).toEqual(['server']);
    expect(await names({ namePrefix: 'se' })).toEqual(['server']);
    expect(await names({ namePrefix: 'x' })).toEqual([]);
    // Visibility: the packages of the caller's source repositories, plus granted names; nothing else.
    expect(await names({ visibility: { allPackages: false, sourceRepositoryIds: [s.apiRepo], packageNames: [] } })).toEqual(['server']);
    expect(await names({ visibility: { allPackages: false, sourceRepositoryIds: [], packageNames: ['site'] } })).toEqual(['site']);
    expect(await names({ visibility: { allPackages: false, sourceRepositoryIds: [], packageNames: [] } })).toEqual([]);

    for (const sort of ['name', 'last-pushed'] as const) {
      const first = await listings.listImages({ workspace: s.workspace, visibility: ALL, sort, pageSize: 1 });
      const second = await listings.listImages({ workspace: s.workspace, visibility: ALL, sort, pageSize: 1, pageToken: first.nextPageToken });
      expect([...first.images, ...second.images].map((i) => i.name)).toEqual(await names({ sort }));
      expect(second.nextPageToken).toBe('');
      // A token of one sort order is refused by the other, with the field named.
      await expect(listings.listImages({ workspace: s.workspace, visibility: ALL, sort: sort === 'name' ? 'last-pushed' : 'name', pageToken: first.nextPageToken })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'page_token' } });
    }

    const [server] = (await listings.listImages({ workspace: s.workspace, visibility: ALL, namePrefix: 'server' })).images;
    // The last activity is the "latest" tag, moved onto the index after the signature was pushed.
    // Distinct blobs: the shared layer once, three configs' worth of sizes, the attestation and signature blobs.
    const expectedSize = 5000 + 300 + 300 + 10 + 700 + 2 + 40;
    expect(server).toMatchObject({ repository: `${s.workspace}/server`, project: 'platform', sourceRepositoryId: s.apiRepo, tagCount: 2, manifestCount: 5, totalSize: expectedSize, lastDigest: s.index.digest });
  });

  it('details an image: the index grouped under its tags with platforms, attestation and signature labelled, created times and layers', async () => {
    const s = scenario();
    await applyAll(s.events);
    const image = await listings.getImage(s.workspace, 'server');
    expect(image.tags).toEqual([
      expect.objectContaining({ tag: 'latest', digest: s.index.digest, kind: 'index' }),
      expect.objectContaining({ tag: 'v1', digest: s.index.digest, kind: 'index' }),
    ]);
    // Index entries are not listed on their own: the index and the signature are.
    expect(image.manifests.map((m) => [m.digest, m.kind])).toEqual([
      [s.signature.digest, 'signature'],
      [s.index.digest, 'index'],
    ]);
    const index = image.manifests.find((m) => m.kind === 'index')!;
    expect(index.tags).toEqual(['latest', 'v1']);
    expect(index.platforms).toEqual([
      { os: 'linux', architecture: 'amd64', variant: '' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    expect(index.children.map((c) => [c.kind, c.platforms])).toEqual([
      ['image', [{ os: 'linux', architecture: 'amd64', variant: '' }]],
      ['image', [{ os: 'linux', architecture: 'arm64', variant: 'v8' }]],
      ['attestation', []],
    ]);
    expect(index.children[0]).toMatchObject({ created: '2026-05-01T10:00:00.000Z', size: 5300, layers: [s.layer] });
    expect(index.size).toBe(5300 + 5300 + 710);
    expect(image.manifests[0]).toMatchObject({ kind: 'signature', subject: s.index.digest, platforms: [] });
    // The notary signature's subject is marked signed; its entries are not.
    expect([index.signed, ...index.children.map((c) => c.signed)]).toEqual([true, false, false, false]);

    const tag = await listings.getTag(s.workspace, 'server', 'v1');
    expect(tag.manifest).toMatchObject({ digest: s.index.digest, signed: true });
    expect(tag.referrers.map((r) => [r.digest, r.kind])).toEqual([[s.signature.digest, 'signature']]);
    await expect(listings.getTag(s.workspace, 'server', 'nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(listings.getImage(s.workspace, 'empty')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(listings.getImage(s.workspace, 'Bad Name')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(listings.listImages({ workspace: "x'; DROP TABLE idx_images; --", visibility: ALL })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it("folds cosign's .sig, .att and .sbom tags under their subject (not among its tags) and marks it signed, while the subject is there", async () => {
    const workspace = `ws-${randomBytes(4).toString('hex')}`;
    const e = eventsFor(workspace);
    const config = (size: number) => ({ mediaType: CONFIG, digest: randomDigest(), size });
    // What cosign sign, attest and attach sbom store: an image config and one layer each.
    const cosignManifest = (mediaType: string) => ({ schemaVersion: 2, mediaType: MANIFEST, config: config(233), layers: [{ mediaType, digest: randomDigest(), size: 300 }] });
    const image = e.pushed('app', { schemaVersion: 2, mediaType: MANIFEST, config: config(100), layers: [{ mediaType: LAYER, digest: randomDigest(), size: 2000 }] }, { platform: 'linux/amd64' });
    const signature = e.pushed('app', cosignManifest('application/vnd.dev.cosign.simplesigning.v1+json'));
    const attestation = e.pushed('app', cosignManifest('application/vnd.dsse.envelope.v1+json'));
    const sbom = e.pushed('app', cosignManifest('text/spdx+json'));
    const stem = image.digest.replace(':', '-');
    // A signature whose subject is not in the repository stays a tag like any other.
    const orphanTag = `${randomDigest().replace(':', '-')}.sig`;
    await applyAll([
      e.linked('app', randomUUID(), 'platform'),
      image.event,
      e.tagged('app', 'v1', image.digest),
      signature.event,
      e.tagged('app', `${stem}.sig`, signature.digest),
      attestation.event,
      e.tagged('app', `${stem}.att`, attestation.digest),
      sbom.event,
      e.tagged('app', `${stem}.sbom`, sbom.digest),
      e.tagged('app', orphanTag, signature.digest),
    ]);

    const [row] = (await listings.listImages({ workspace, visibility: ALL })).images;
    expect(row).toMatchObject({ name: 'app', tagCount: 2, manifestCount: 4 });
    const page = await listings.listTags({ workspace, name: 'app' });
    expect(page.tags.map((entry) => entry.tag.tag)).toEqual([orphanTag, 'v1']);
    const v1 = page.tags[1]!;
    expect(v1.manifest).toMatchObject({ digest: image.digest, signed: true });
    expect(v1.referrers.map((r) => [r.digest, r.kind, r.subject, [...r.tags].sort()])).toEqual([
      [sbom.digest, 'attestation', image.digest, [`${stem}.sbom`]],
      [attestation.digest, 'attestation', image.digest, [`${stem}.att`]],
      [signature.digest, 'signature', image.digest, [`${stem}.sig`, orphanTag].sort()],
    ]);
    // Pages skip the folded tags whatever their size.
    const first = await listings.listTags({ workspace, name: 'app', pageSize: 1 });
    const second = await listings.listTags({ workspace, name: 'app', pageSize: 1, pageToken: first.nextPageToken });
    expect([first, second].map((p) => p.tags.map((entry) => entry.tag.tag))).toEqual([[orphanTag], ['v1']]);
    expect(second.nextPageToken).toBe('');
    expect((await listings.listTags({ workspace, name: 'app', sort: 'last-pushed' })).tags.map((entry) => entry.tag.tag)).toEqual([orphanTag, 'v1']);

    const details = await listings.getImage(workspace, 'app');
    expect(details.tags.map((t) => t.tag)).toEqual([orphanTag, 'v1']);
    expect(details.manifests.find((m) => m.digest === image.digest)).toMatchObject({ signed: true, tags: ['v1'] });
    expect(details.manifests.find((m) => m.digest === attestation.digest)).toMatchObject({ kind: 'attestation', subject: image.digest, tags: [`${stem}.att`], signed: false });
    const tag = await listings.getTag(workspace, 'app', 'v1');
    expect(tag.manifest.signed).toBe(true);
    expect(tag.referrers.map((r) => r.digest).sort()).toEqual([signature.digest, attestation.digest, sbom.digest].sort());
    // A folded tag is still a tag: its own page answers.
    expect((await listings.getTag(workspace, 'app', `${stem}.sig`)).manifest).toMatchObject({ digest: signature.digest, kind: 'signature', subject: image.digest });

    // Once the subject is gone, its tags are ordinary tags again (and counted).
    await applyAll([e.untagged('app', 'v1'), e.deleted('app', image.digest)]);
    expect((await listings.listTags({ workspace, name: 'app' })).tags.map((entry) => entry.tag.tag)).toEqual([`${stem}.att`, `${stem}.sbom`, `${stem}.sig`, orphanTag].sort());
    expect((await listings.listImages({ workspace, visibility: ALL })).images[0]).toMatchObject({ tagCount: 4, manifestCount: 3 });
  });

  it('applies each event once, ignores older events that arrive late, and drops images whose manifests are deleted', async () => {
    const s = scenario();
    await applyAll(s.events);
    const before = await listings.getImage(s.workspace, 'site');
    // Redelivery of the whole stream changes nothing.
    for (const event of s.events) expect(await model.apply(event)).toBe(false);
    expect(await listings.getImage(s.workspace, 'site')).toEqual(before);

    const retag = s.e.tagged('site', 'v1', s.site.digest);
    const stale = { ...s.e.tagged('site', 'v1', randomDigest()), time: '2020-01-01T00:00:00.000Z' };
    await model.apply(retag);
    await model.apply(stale);
    expect((await listings.getTag(s.workspace, 'site', 'v1')).tag.digest).toBe(s.site.digest);

    await model.apply(s.e.untagged('site', 'v1'));
    await model.apply(s.e.deleted('site', s.site.digest));
    expect((await listings.listImages({ workspace: s.workspace, visibility: ALL })).images.map((i) => i.name)).toEqual(['server']);
  });

  it('rebuilds from a snapshot into exactly the tables the events built', async () => {
    const s = scenario();
    await applyAll(s.events);
    const dump = async () => {
      const tables = ['idx_packages', 'idx_manifests', 'idx_tags', 'idx_images'];
      return Promise.all(tables.map(async (table) => (await pool.query(`SELECT * FROM ${table} WHERE repository LIKE $1 ORDER BY 1, 2`, [`${s.workspace}/%`])).rows));
    };
    const built = await dump();
    // A snapshot: the same state with fresh event ids, one page per call.
    const snapshot = s.events.map((event) => ({ ...event, id: randomUUID() }));
    async function* pages() {
      yield snapshot.slice(0, 5);
      yield snapshot.slice(5);
    }
    await pool.query("INSERT INTO idx_images VALUES ('stale/row', 'stale', 'row', 'sha256:x', now(), 0, 1, 0)");
    expect(await model.rebuild(pages())).toBe(snapshot.length);
    expect(await dump()).toEqual(built);
    expect((await pool.query("SELECT 1 FROM idx_images WHERE repository = 'stale/row'")).rowCount).toBe(0);
  });

  it('forgets applied event ids older than the retention, and only those', async () => {
    const e = eventsFor(`ws-${randomBytes(4).toString('hex')}`);
    const old = e.tagged('tools', 'v1', randomDigest());
    const recent = e.tagged('tools', 'v2', randomDigest());
    await applyAll([old, recent]);
    await pool.query("UPDATE idx_applied_events SET applied_at = now() - interval '31 days' WHERE event_id = $1", [old.id]);
    expect(await model.pruneAppliedEvents(30)).toBe(1);
    const { rows } = await pool.query<{ event_id: string }>('SELECT event_id FROM idx_applied_events WHERE event_id = ANY($1::uuid[])', [[old.id, recent.id]]);
    expect(rows.map((row) => row.event_id)).toEqual([recent.id]);
  });

  it('rejects malformed and newer-schema events with a reason', () => {
    const good = eventsFor('acme').tagged('tools', 'v1', randomDigest());
    expect(rejectionOf(good)).toBeUndefined();
    expect(rejectionOf('text')).toBe('not a JSON object');
    expect(rejectionOf({ ...good, schemaVersion: 2 })).toBe('unsupported schemaVersion 2');
    expect(rejectionOf({ ...good, id: 'x' })).toBe('missing or malformed id');
    expect(rejectionOf({ ...good, target: { ...good.target, tag: undefined } })).toBe('tag.updated without target.tag');
    expect(rejectionOf({ ...good, target: { ...good.target, repository: 'other/tools' } })).toBe('target repository is not in its workspace');
  });
});
