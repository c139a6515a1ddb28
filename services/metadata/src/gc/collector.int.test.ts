import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { TEST_ORIGIN } from '../metadata-testbed';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { createMetricsRegistry } from '@ocireg/metrics';
import { FsBlobStore, S3BlobStore, type BlobStore } from '@ocireg/storage';
import { createDatabase } from '@ocireg/testenv';
import { migrate } from '../migrate';
import { createMetadataModel, type MetadataModel } from '../metadata-model';
import { workspaceUsage } from '../usage';
import { Collector, type CollectorSettings } from './collector';

/**
 * Garbage collection against real PostgreSQL and both storage backends, in a
 * database of its own: a collector takes every due review of its database.
 */

const digestOf = (content: Buffer | string) => `sha256:${createHash('sha256').update(content).digest('hex')}`;
const IMAGE = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const logger = createLogger({ service: 'test', level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const STORES: Array<{ name: string; make(): BlobStore }> = [
  { name: 'filesystem', make: () => new FsBlobStore(mkdtempSync(path.join(tmpdir(), 'ocireg-gc-'))) },
  {
    name: 'S3 (MinIO)',
    // A bucket of its own: the orphan sweep removes whatever this database does not name.
    make: () =>
      new S3BlobStore({ endpoint: process.env.S3_ENDPOINT!, accessKey: process.env.S3_ACCESS_KEY!, secretKey: process.env.S3_SECRET_KEY!, bucket: `gc-${randomBytes(6).toString('hex')}`, region: 'us-east-1' }),
  },
];

describe.each(STORES)('garbage collection on $name', ({ make }) => {
  let pool: Pool;
  let store: BlobStore;
  let metadata: MetadataModel;
  let workspace: string;

  beforeAll(async () => {
    const url = await createDatabase(process.env.DATABASE_URL!, 'gc');
    await migrate(url, logger);
    pool = new Pool({ connectionString: url, max: 8 });
    store = make();
    if (store instanceof S3BlobStore) await store.ensureBucket('us-east-1');
    // No restore window: these tests delete and expect collection at once (restore-window.int.test.ts covers the window).
    metadata = createMetadataModel(pool, { restoreWindowSeconds: 0 });
  });

  afterAll(async () => {
    await pool?.end();
  });

  /** A collector with these grace periods (none by default: collect as soon as nothing references a thing). */
  function collector(settings: Partial<CollectorSettings> = {}): Collector {
    return new Collector({ pool, store, logger, metrics: createMetricsRegistry('test'), settings: { untaggedGraceMs: 0, blobGraceMs: 0, orphanGraceMs: 0, batch: 10_000, ...settings } });
  }

  /** A fresh workspace and repository per test: reviews of other tests' repositories are no concern of its assertions. */
  async function newRepository(name = 'app'): Promise<string> {
    workspace = `gc${randomBytes(5).toString('hex')}`;
    await pool.query('INSERT INTO workspaces (slug, name) VALUES ($1, $1)', [workspace]);
    return `${workspace}/${name}`;
  }

  /** Every storage key an upload placed, to prove at the end that nothing was left behind. */
  const placedKeys = new Set<string>();

  /** What the gateway does for a blob upload: bytes into storage, recorded by metadata, placement confirmed. */
  async function uploadBlob(repository: string, data: Buffer): Promise<string> {
    const digest = digestOf(data);
    const { state } = await store.appendUpload(await store.createUpload(randomUUID()), (async function* () { yield data; })(), { maxSize: Number.MAX_SAFE_INTEGER });
    const sealed = await store.sealUpload(state);
    const key = await store.placeBlob(sealed, digest);
    placedKeys.add(key);
    let linked;
    try {
      linked = await metadata.blobs.link(repository, { digest, size: data.length, storageKey: key }, undefined, TEST_ORIGIN);
    } catch (err) {
      await store.delete(store.contentAddressed ? sealed : key);
      throw err;
    }
    if (linked.alreadyExisted && linked.blob.storageKey !== key) await store.delete(key);
    await store.confirmPlaced(sealed, digest);
    return digest;
  }

  async function putImage(repository: string, tags: string[], blobs: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: IMAGE, layers: blobs, nonce: randomUUID(), ...extra }));
    return metadata.manifests.put({ origin: TEST_ORIGIN, repository, tags, digest: digestOf(content), mediaType: IMAGE, content, blobDigests: blobs, manifestDigests: [], subjectDigest: extra.subject as string | undefined });
  }

  async function putIndex(repository: string, tags: string[], manifests: string[]): Promise<string> {
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests, nonce: randomUUID() }));
    return metadata.manifests.put({ origin: TEST_ORIGIN, repository, tags, digest: digestOf(content), mediaType: INDEX, content, blobDigests: [], manifestDigests: manifests });
  }

  const manifestExists = async (repository: string, digest: string) => ((await pool.query('SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2', [repository, digest])).rowCount ?? 0) > 0;
  const storageKeyOf = async (digest: string) => (await pool.query<{ storage_key: string }>('SELECT storage_key FROM blobs WHERE digest = $1', [digest])).rows[0]?.storage_key;
  /** The blob's bytes as stored under the key metadata names, or undefined. */
  async function storedBytes(digest: string): Promise<number | undefined> {
    const key = await storageKeyOf(digest);
    return key ? (await store.stat(key))?.size : undefined;
  }

  it('collects a manifest left untagged by a tag overwrite after the grace period, not before, and tells listings', async () => {
    const repository = await newRepository();
    const layer = await uploadBlob(repository, randomBytes(100));
    const old = await putImage(repository, ['latest'], [layer]);
    await putImage(repository, ['latest'], [layer]);
    const gc = collector({ untaggedGraceMs: 1500 });
    await gc.collect();
    expect(await manifestExists(repository, old)).toBe(true);
    await sleep(1600);
    const report = await gc.collect();
    expect(report.actions).toContainEqual(expect.objectContaining({ kind: 'manifest', repository, digest: old, why: expect.stringMatching(/^untagged since/) }));
    expect(await manifestExists(repository, old)).toBe(false);
    const { rows } = await pool.query(`SELECT 1 FROM outbox WHERE action = 'manifest.deleted' AND envelope->'target'->>'digest' = $1`, [old]);
    expect(rows).toHaveLength(1);
    // The layer is still referenced by the new manifest.
    expect(await storedBytes(layer)).toBe(100);
  });

  it('keeps untagged manifests in a workspace that opted out', async () => {
    const repository = await newRepository();
    await pool.query('UPDATE workspaces SET keep_untagged_manifests = true WHERE slug = $1', [workspace]);
    const old = await putImage(repository, ['v1'], []);
    await metadata.deletions.deleteTag(repository, 'v1', TEST_ORIGIN);
    await collector().collect();
    expect(await manifestExists(repository, old)).toBe(true);
  });

  it('frees a deleted image\'s unique layer (storage and usage), keeps the layer it shares, and the other image', async () => {
    const repository = await newRepository();
    const shared = await uploadBlob(repository, randomBytes(3000));
    const unique = await uploadBlob(repository, randomBytes(5000));
    const other = await uploadBlob(repository, randomBytes(7000));
    const deleted = await putImage(repository, ['one'], [shared, unique]);
    const kept = await putImage(repository, ['two'], [shared, other]);
    const before = await workspaceUsage(pool, workspace);
    const uniqueKey = (await storageKeyOf(unique))!;

    await metadata.deletions.deleteManifest(repository, deleted, TEST_ORIGIN);
    const gc = collector({ blobGraceMs: 1000 });
    await gc.collect();
    expect(await storedBytes(unique)).toBe(5000); // within the grace period
    await sleep(1100);
    const report = await gc.collect();
    expect(report.actions).toContainEqual(expect.objectContaining({ kind: 'blob-link', repository, digest: unique }));
    expect(report.freed).toContainEqual(expect.objectContaining({ digest: unique, bytes: 5000 }));
    expect(await store.stat(uniqueKey)).toBeUndefined();
    expect(await storageKeyOf(unique)).toBeUndefined();
    expect(await storedBytes(shared)).toBe(3000);
    expect(await storedBytes(other)).toBe(7000);
    expect(await manifestExists(repository, kept)).toBe(true);
    expect(await workspaceUsage(pool, workspace)).toBe(before - 5000);
  });

  it('keeps a blob another repository still links, and frees it when the last link goes', async () => {
    const first = await newRepository('first');
    const second = `${workspace}/second`;
    const blob = await uploadBlob(first, randomBytes(999));
    await metadata.blobs.mount(first, second, blob, undefined, TEST_ORIGIN);
    const firstImage = await putImage(first, ['v1'], [blob]);
    const secondImage = await putImage(second, ['v1'], [blob]);
    await metadata.deletions.deleteManifest(first, firstImage, TEST_ORIGIN);
    const report = await collector().collect();
    expect(report.actions).toContainEqual(expect.objectContaining({ kind: 'blob-link', repository: first, digest: blob }));
    expect(report.freed.map((action) => action.digest)).not.toContain(blob);
    expect(await storedBytes(blob)).toBe(999);
    await metadata.deletions.deleteManifest(second, secondImage, TEST_ORIGIN);
    expect((await collector().collect()).freed).toContainEqual(expect.objectContaining({ digest: blob, bytes: 999 }));
    expect(await storageKeyOf(blob)).toBeUndefined();
  });

  it('deletes nothing an index still needs elsewhere: deleting an index collects its platform manifests and signatures when nothing else points at them', async () => {
    const repository = await newRepository();
    const amd64 = await putImage(repository, [], [await uploadBlob(repository, randomBytes(10))]);
    const arm64 = await putImage(repository, [], [await uploadBlob(repository, randomBytes(11))]);
    const shared = await putImage(repository, [], [await uploadBlob(repository, randomBytes(12))]);
    const taggedChild = await putImage(repository, ['pinned'], []);
    const index = await putIndex(repository, ['v1'], [amd64, arm64, shared, taggedChild]);
    await putIndex(repository, ['other'], [shared]);
    const signature = await putImage(repository, [], [await uploadBlob(repository, randomBytes(13))], { subject: index });
    const taggedSignature = await putImage(repository, ['sha256-sig'], [], { subject: index });

    await metadata.deletions.deleteManifest(repository, index, TEST_ORIGIN);
    const report = await collector().collect();
    const collected = report.actions.filter((action) => action.kind === 'manifest').map((action) => action.digest);
    expect(collected.sort()).toEqual([amd64, arm64, signature, taggedSignature].sort());
    for (const digest of [amd64, arm64, signature, taggedSignature]) expect(await manifestExists(repository, digest)).toBe(false);
    for (const digest of [shared, taggedChild]) expect(await manifestExists(repository, digest)).toBe(true);
    // Their layers followed (no grace here), the shared child's did not.
    expect(report.freed.map((action) => action.bytes).sort()).toEqual([10, 11, 13]);
  });

  it('unlinks a blob pushed but never referenced once the grace period passed, and frees its bytes', async () => {
    const repository = await newRepository();
    const blob = await uploadBlob(repository, randomBytes(321));
    const gc = collector({ blobGraceMs: 800 });
    await gc.collect();
    expect(await storedBytes(blob)).toBe(321);
    await sleep(900);
    const report = await gc.collect();
    expect(report.actions).toContainEqual(expect.objectContaining({ kind: 'blob-link', digest: blob, why: 'pushed, but no manifest came to reference it' }));
    expect(await storageKeyOf(blob)).toBeUndefined();
  });

  it('lists in a dry run what a round would collect, and why, changing nothing', async () => {
    const repository = await newRepository();
    const layer = await uploadBlob(repository, randomBytes(444));
    const image = await putImage(repository, ['v1'], [layer]);
    await metadata.deletions.deleteTag(repository, 'v1', TEST_ORIGIN);
    const gc = collector();
    const dry = await gc.dryRun();
    expect(dry.actions).toContainEqual(expect.objectContaining({ kind: 'manifest', digest: image }));
    expect(dry.actions).toContainEqual(expect.objectContaining({ kind: 'blob-link', digest: layer }));
    expect(dry.freed).toContainEqual(expect.objectContaining({ digest: layer, bytes: 444 }));
    expect(await manifestExists(repository, image)).toBe(true);
    expect(await storedBytes(layer)).toBe(444);
    expect((await gc.dryRun()).actions).toContainEqual(expect.objectContaining({ kind: 'manifest', digest: image })); // still due
    const real = await gc.collect();
    expect(real.freed).toContainEqual(expect.objectContaining({ digest: layer }));
  });

  it('revives a blob marked for deletion when it is pushed again before its bytes are freed', async () => {
    const repository = await newRepository();
    const data = randomBytes(555);
    const blob = await uploadBlob(repository, data);
    await pool.query('DELETE FROM repository_blobs WHERE repository = $1', [repository]);
    await pool.query('UPDATE blobs SET deleting_since = now() WHERE digest = $1', [blob]); // a review decided; the bytes are not freed yet
    await uploadBlob(repository, data);
    const report = await collector({ blobGraceMs: 60_000 }).collect();
    expect(report.freed.map((action) => action.digest)).not.toContain(blob);
    expect(await storedBytes(blob)).toBe(555);
  });

  it('sweeps storage objects no row names once older than the grace period, and what abandoned uploads left', async () => {
    const data = randomBytes(2000);
    const digest = digestOf(data);
    const { state } = await store.appendUpload(await store.createUpload(randomUUID()), (async function* () { yield data; })(), { maxSize: 1e9 });
    const sealed = await store.sealUpload(state);
    const orphan = await store.placeBlob(sealed, digest); // a push that died before metadata recorded it
    const abandoned = await store.createUpload(randomUUID());
    const young = await collector({ orphanGraceMs: 3_600_000 }).dryRun({ sweep: true });
    expect(young.orphans?.map((o) => o.key)).not.toContain(orphan);
    const report = await collector({ orphanGraceMs: 0 }).collect({ sweep: true });
    expect(report.orphans?.map((o) => o.key)).toContain(orphan);
    expect(report.orphans?.some((o) => o.key.includes(abandoned.key.split('/').pop()!))).toBe(true);
    expect(await store.stat(orphan)).toBeUndefined();
    // Blobs metadata names are never orphans.
    const repository = await newRepository();
    const named = await uploadBlob(repository, randomBytes(77));
    await collector({ orphanGraceMs: 0, blobGraceMs: 60_000 }).collect({ sweep: true });
    expect(await storedBytes(named)).toBe(77);
  });

  it('lets several collectors run at once: each decision taken once', async () => {
    const repository = await newRepository();
    const images = [];
    for (let i = 0; i < 30; i++) images.push(await putImage(repository, [`t${i}`], [await uploadBlob(repository, randomBytes(50 + i))]));
    for (let i = 0; i < 30; i++) await metadata.deletions.deleteTag(repository, `t${i}`, TEST_ORIGIN);
    const reports = await Promise.all([collector().collect(), collector().collect(), collector().collect()]);
    const manifests = reports.flatMap((report) => report.actions.filter((action) => action.kind === 'manifest' && action.repository === repository).map((action) => action.digest));
    expect(manifests.sort()).toEqual([...images].sort());
    const freed = reports.flatMap((report) => report.freed.map((action) => action.digest));
    expect(new Set(freed).size).toBe(freed.length);
  });

  it('races pushes of the same blobs against collection for thousands of iterations: what a push references is never lost', async () => {
    const repository = await newRepository();
    placedKeys.clear();
    const mountTarget = `${workspace}/mounted`;
    const layers = [randomBytes(300), randomBytes(400), randomBytes(500)];
    const iterations = Number(process.env.GC_RACE_ITERATIONS ?? 2000);
    let stop = false;
    let collections = 0;
    // A grace period of a few milliseconds: longer than a push's own HEAD-to-PUT, short enough that
    // a blob's collection keeps crossing the next push of it.
    const gc = collector({ blobGraceMs: 15 });
    const collecting = (async () => {
      while (!stop) {
        await gc.collect();
        collections++;
      }
    })();

    let retries = 0;
    try {
      for (let i = 0; i < iterations; i++) {
        const data = layers[i % layers.length]!;
        const digest = digestOf(data);
        if (i % 3 === 0) await sleep(Math.floor(Math.random() * 25));
        // A client's push: HEAD the blob, upload it if missing (or sometimes anyway, as docker does after a failure), then the manifest.
        for (let attempt = 0; ; attempt++) {
          if (attempt > 20) throw new Error(`iteration ${i}: the push never went through`);
          const known = await metadata.blobs.stat(repository, digest).then(() => true, () => false);
          if (!known || i % 7 === 0) await uploadBlob(repository, data);
          if (i % 5 === 0) await metadata.blobs.mount(repository, mountTarget, digest, undefined, TEST_ORIGIN).catch(() => undefined);
          try {
            const image = await putImage(repository, [], [digest]);
            // What the push references is whole, under the key metadata names.
            expect(await storedBytes(digest)).toBe(data.length);
            await metadata.deletions.deleteManifest(repository, image, TEST_ORIGIN); // and it goes again: the next iteration races the collection of its blob
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== 'MANIFEST_BLOB_UNKNOWN') throw err;
            retries++; // collected between the HEAD and the PUT: the client pushes again
          }
        }
      }
    } finally {
      stop = true;
      await collecting;
    }
    expect(collections).toBeGreaterThan(10);
    // Everything unreferenced now: one last collection leaves no row and no bytes of these blobs.
    await pool.query('DELETE FROM repository_blobs WHERE repository = $1', [mountTarget]);
    await sleep(20);
    await gc.collect();
    await gc.collect();
    // A blob pushed again while its bytes were being freed keeps the new bytes; the old ones, if the
    // collector had not freed them yet, are what the orphan sweep is for.
    await gc.collect({ sweep: true });
    for (const data of layers) expect(await storageKeyOf(digestOf(data))).toBeUndefined();
    const remaining = [];
    for await (const object of store.list('blobs/')) if (placedKeys.has(object.key)) remaining.push(object.key);
    expect(remaining).toEqual([]);
    console.log(`gc race: ${iterations} pushes, ${collections} collections, ${retries} pushes retried after their blob was collected`);
  }, 300_000);
});
