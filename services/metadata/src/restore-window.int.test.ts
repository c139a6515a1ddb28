import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { createMetricsRegistry } from '@ocireg/metrics';
import { FsBlobStore, S3BlobStore, type BlobStore } from '@ocireg/storage';
import { createDatabase } from '@ocireg/testenv';
import { Collector } from './gc/collector';
import { createMetadataModel, type MetadataModel } from './metadata-model';
import { TEST_ORIGIN } from './metadata-testbed';
import { migrate } from './migrate';
import { workspaceUsage } from './usage';

/**
 * The restore window against real PostgreSQL and both storage backends (in a
 * database of its own: a collector takes every due review of its database):
 * deletes are listed and restored with the same digests; garbage collection
 * frees nothing a deletion in the window needs, and frees it once the
 * deletion is purged; a window of 0 keeps deletes final.
 */

const digestOf = (content: Buffer | string) => `sha256:${createHash('sha256').update(content).digest('hex')}`;
const IMAGE = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const logger = createLogger({ service: 'test', level: 'silent' });

const STORES: Array<{ name: string; make(): BlobStore }> = [
  { name: 'filesystem', make: () => new FsBlobStore(mkdtempSync(path.join(tmpdir(), 'ocireg-restore-'))) },
  {
    name: 'S3 (MinIO)',
    make: () =>
      new S3BlobStore({ endpoint: process.env.S3_ENDPOINT!, accessKey: process.env.S3_ACCESS_KEY!, secretKey: process.env.S3_SECRET_KEY!, bucket: `restore-${randomBytes(6).toString('hex')}`, region: 'us-east-1' }),
  },
];

describe.each(STORES)('the restore window on $name', ({ make }) => {
  let pool: Pool;
  let store: BlobStore;
  /** A window of a week (the default). */
  let model: MetadataModel;
  /** No window: deletes are final. */
  let final: MetadataModel;
  let collector: Collector;

  beforeAll(async () => {
    const url = await createDatabase(process.env.DATABASE_URL!, 'restore');
    await migrate(url, logger);
    pool = new Pool({ connectionString: url, max: 8 });
    store = make();
    if (store instanceof S3BlobStore) await store.ensureBucket('us-east-1');
    model = createMetadataModel(pool);
    final = createMetadataModel(pool, { restoreWindowSeconds: 0 });
    // No grace periods: whatever nothing keeps goes at once, so only the window can keep it.
    collector = new Collector({ pool, store, logger, metrics: createMetricsRegistry('test'), settings: { untaggedGraceMs: 0, blobGraceMs: 0, orphanGraceMs: 0, batch: 10_000 } });
  });

  afterAll(async () => {
    await pool?.end();
  });

  async function newRepository(name = 'app'): Promise<{ workspace: string; repository: string }> {
    const workspace = `rw${randomBytes(5).toString('hex')}`;
    await pool.query('INSERT INTO workspaces (slug, name) VALUES ($1, $1)', [workspace]);
    return { workspace, repository: `${workspace}/${name}` };
  }

  async function uploadBlob(repository: string, data: Buffer): Promise<string> {
    const digest = digestOf(data);
    const { state } = await store.appendUpload(await store.createUpload(randomUUID()), (async function* () { yield data; })(), { maxSize: Number.MAX_SAFE_INTEGER });
    const sealed = await store.sealUpload(state);
    const key = await store.placeBlob(sealed, digest);
    await model.blobs.link(repository, { digest, size: data.length, storageKey: key }, undefined, TEST_ORIGIN);
    await store.confirmPlaced(sealed, digest);
    return digest;
  }

  async function putImage(repository: string, tags: string[], blobs: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: IMAGE, layers: blobs, nonce: randomUUID(), ...extra }));
    return model.manifests.put({ origin: TEST_ORIGIN, repository, tags, digest: digestOf(content), mediaType: IMAGE, content, blobDigests: blobs, manifestDigests: [], subjectDigest: extra.subject as string | undefined });
  }

  async function putIndex(repository: string, tags: string[], manifests: string[]): Promise<string> {
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests, nonce: randomUUID() }));
    return model.manifests.put({ origin: TEST_ORIGIN, repository, tags, digest: digestOf(content), mediaType: INDEX, content, blobDigests: [], manifestDigests: manifests });
  }

  /** Collection rounds until nothing is due. */
  async function collectAll(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const report = await collector.collect();
      if (report.actions.length === 0 && report.freed.length === 0) return;
    }
  }

  const storedBytes = async (digest: string): Promise<number | undefined> => {
    const key = (await pool.query<{ storage_key: string }>('SELECT storage_key FROM blobs WHERE digest = $1', [digest])).rows[0]?.storage_key;
    return key ? (await store.stat(key))?.size : undefined;
  };
  const manifestExists = async (repository: string, digest: string) => ((await pool.query('SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2', [repository, digest])).rowCount ?? 0) > 0;
  const tagsOf = async (repository: string) => (await pool.query<{ name: string; digest: string }>('SELECT name, digest FROM tags WHERE repository = $1 ORDER BY name', [repository])).rows.map((r) => `${r.name}=${r.digest}`);
  const eventsSince = async (repository: string, after: number) =>
    (await pool.query<{ action: string; envelope: { target: { tag?: string; digest: string } } }>('SELECT action, envelope FROM outbox WHERE repository = $1 AND id > $2 ORDER BY id', [repository, after])).rows.map((r) =>
      `${r.action} ${r.envelope.target.tag ?? r.envelope.target.digest}`,
    );
  const lastEventId = async () => Number((await pool.query<{ id: string | null }>('SELECT max(id) AS id FROM outbox')).rows[0]!.id ?? 0);
  /** Ends a deletion's window now (as time passing would). */
  const endWindow = (id: string) => pool.query("UPDATE deletions SET restorable_until = now() - interval '1 second', deleted_at = now() - interval '8 days' WHERE id = $1", [id]);

  it('keeps a deleted image (index, platform images, layers) through collection, lists it, and restores the same digests with their tags and push events', async () => {
    const { workspace, repository } = await newRepository();
    const layerA = await uploadBlob(repository, randomBytes(1000));
    const layerB = await uploadBlob(repository, randomBytes(2000));
    const amd = await putImage(repository, [], [layerA]);
    const arm = await putImage(repository, [], [layerB]);
    const index = await putIndex(repository, ['v1', 'latest'], [amd, arm]);
    const before = await workspaceUsage(pool, workspace);
    expect(before).toBe(3000);
    const origin = { ...TEST_ORIGIN, userId: 'user-1', email: 'dev@example.com', actorService: '' };

    expect(await model.deletions.deleteImage(repository, origin)).toEqual({ manifests: 3, tags: 2 });
    await collectAll();
    // Nothing the deletion could restore was freed: its blobs are still linked and stored.
    expect(await storedBytes(layerA)).toBe(1000);
    expect(await storedBytes(layerB)).toBe(2000);
    expect(await workspaceUsage(pool, workspace)).toBe(3000);
    await expect(model.manifests.get(repository, 'v1')).rejects.toMatchObject({ code: 'MANIFEST_UNKNOWN' });

    const [deletion, ...others] = await model.restoreWindow.list({ workspace, repository });
    expect(others).toEqual([]);
    expect(deletion).toMatchObject({ kind: 'image', repository, actor: { userId: 'user-1', email: 'dev@example.com', service: '' }, bytes: 3000 });
    expect(deletion!.tags).toEqual([{ tag: 'latest', digest: index }, { tag: 'v1', digest: index }]);
    expect(deletion!.manifests.map((m) => m.digest).sort()).toEqual([amd, arm, index].sort());
    expect(deletion!.restorableUntil.getTime() - deletion!.deletedAt.getTime()).toBe(7 * 24 * 3600 * 1000);
    expect(await model.restoreWindow.list({ workspace })).toHaveLength(1);
    expect(await model.restoreWindow.usage(workspace)).toEqual({ bytes: 3000, deletions: 1, manifests: 3, tags: 2 });

    const mark = await lastEventId();
    const restored = await model.restoreWindow.restore(deletion!.id, origin);
    expect(restored.manifests.sort()).toEqual([amd, arm, index].sort());
    expect(restored.tags).toEqual(['latest', 'v1']);
    expect((await model.manifests.get(repository, 'v1')).digest).toBe(index);
    expect((await model.manifests.get(repository, amd)).digest).toBe(amd);
    expect(await tagsOf(repository)).toEqual([`latest=${index}`, `v1=${index}`]);
    const events = await eventsSince(repository, mark);
    expect(events.filter((e) => e.startsWith('manifest.pushed')).sort()).toEqual([amd, arm, index].map((d) => `manifest.pushed ${d}`).sort());
    expect(events.filter((e) => e.startsWith('tag.updated'))).toEqual(['tag.updated latest', 'tag.updated v1']);
    const { rows: audit } = await pool.query<{ action: string }>("SELECT action FROM audit_log WHERE workspace = $1 AND action LIKE '%.restored'", [workspace]);
    expect(audit.map((a) => a.action)).toEqual(['image.restored']);
    expect(await model.restoreWindow.list({ workspace })).toEqual([]);
    expect(await model.restoreWindow.usage(workspace)).toEqual({ bytes: 0, deletions: 0, manifests: 0, tags: 0 });
    await expect(model.restoreWindow.restore(deletion!.id, origin)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // Restored, it is live content again: collection keeps it.
    await collectAll();
    expect(await storedBytes(layerA)).toBe(1000);
    expect(await manifestExists(repository, arm)).toBe(true);
  });

  it('keeps the manifest of a deleted tag while the tag is restorable; restores the tag; after the window the manifest is collected', async () => {
    const { workspace, repository } = await newRepository();
    const layer = await uploadBlob(repository, randomBytes(500));
    const image = await putImage(repository, ['v1'], [layer]);
    await model.deletions.deleteTag(repository, 'v1', TEST_ORIGIN);
    await collectAll();
    expect(await manifestExists(repository, image)).toBe(true); // untagged, no grace, but its tag may come back
    const [deletion] = await model.restoreWindow.list({ workspace, repository });
    expect(deletion).toMatchObject({ kind: 'tag', tags: [{ tag: 'v1', digest: image }], manifests: [], bytes: 500 });
    const mark = await lastEventId();
    expect(await model.restoreWindow.restore(deletion!.id, TEST_ORIGIN)).toMatchObject({ manifests: [], tags: ['v1'] });
    expect(await eventsSince(repository, mark)).toEqual(['tag.updated v1']);
    expect((await model.manifests.get(repository, 'v1')).digest).toBe(image);
    const { rows: audit } = await pool.query<{ action: string }>("SELECT action FROM audit_log WHERE workspace = $1 AND action LIKE '%.restored'", [workspace]);
    expect(audit.map((a) => a.action)).toEqual(['tag.restored']);

    // Deleted again, and the window ends: purged, then collection takes the untagged manifest and its layer.
    await model.deletions.deleteTag(repository, 'v1', TEST_ORIGIN);
    const [again] = await model.restoreWindow.list({ workspace, repository });
    await endWindow(again!.id);
    expect(await model.restoreWindow.list({ workspace, repository })).toEqual([]);
    await expect(model.restoreWindow.restore(again!.id, TEST_ORIGIN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('restore window') });
    await collectAll();
    expect(await manifestExists(repository, image)).toBe(true); // not purged yet: still kept
    expect(await model.restoreWindow.purgeExpired(100)).toBeGreaterThanOrEqual(1);
    await collectAll();
    expect(await manifestExists(repository, image)).toBe(false);
    expect(await storedBytes(layer)).toBeUndefined();
    expect(await workspaceUsage(pool, workspace)).toBe(0);
    await expect(model.restoreWindow.restore(again!.id, TEST_ORIGIN)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('frees the bytes of a deleted manifest only once its deletion is purged, and usage drops then', async () => {
    const { workspace, repository } = await newRepository();
    const shared = await uploadBlob(repository, randomBytes(300));
    const own = await uploadBlob(repository, randomBytes(700));
    const kept = await putImage(repository, ['stays'], [shared]);
    const doomed = await putImage(repository, ['goes'], [shared, own]);
    // A signature of the deleted manifest: it follows its subject, so it stays while the subject can come back.
    const signature = await putImage(repository, [], [], { subject: doomed });
    expect(await model.deletions.deleteManifest(repository, doomed, TEST_ORIGIN)).toEqual({ tags: ['goes'] });
    await collectAll();
    expect(await storedBytes(own)).toBe(700);
    expect(await manifestExists(repository, signature)).toBe(true);
    expect(await workspaceUsage(pool, workspace)).toBe(1000);
    // The window holds the 700 bytes only the deleted manifest references (the shared layer is live).
    expect(await model.restoreWindow.usage(workspace)).toEqual({ bytes: 700, deletions: 1, manifests: 1, tags: 1 });

    const [deletion] = await model.restoreWindow.list({ workspace });
    await endWindow(deletion!.id);
    expect(await model.restoreWindow.purgeExpired(100)).toBeGreaterThanOrEqual(1);
    await collectAll();
    expect(await storedBytes(own)).toBeUndefined();
    expect(await storedBytes(shared)).toBe(300);
    expect(await manifestExists(repository, signature)).toBe(false);
    expect(await manifestExists(repository, kept)).toBe(true);
    expect(await workspaceUsage(pool, workspace)).toBe(300);
    expect(await model.restoreWindow.usage(workspace)).toEqual({ bytes: 0, deletions: 0, manifests: 0, tags: 0 });
  });

  it('refuses a restore, restoring nothing, when a tag was pushed again to another digest; restores when it points to the same one', async () => {
    const { workspace, repository } = await newRepository();
    const layer = await uploadBlob(repository, randomBytes(100));
    const first = await putImage(repository, ['v1', 'stable'], [layer]);
    await model.deletions.deleteManifest(repository, first, TEST_ORIGIN);
    const second = await putImage(repository, ['v1'], [layer]);
    const [deletion] = await model.restoreWindow.list({ workspace, repository });
    await expect(model.restoreWindow.restore(deletion!.id, TEST_ORIGIN)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining(`v1 (now ${second})`) });
    expect(await manifestExists(repository, first)).toBe(false);
    expect(await tagsOf(repository)).toEqual([`v1=${second}`]);

    // Once the other v1 is deleted, the restore goes through.
    await model.deletions.deleteTag(repository, 'v1', TEST_ORIGIN);
    expect(await model.restoreWindow.restore(deletion!.id, TEST_ORIGIN)).toMatchObject({ manifests: [first], tags: ['stable', 'v1'] });
    expect(await tagsOf(repository)).toEqual([`stable=${first}`, `v1=${first}`]);
    await expect(model.restoreWindow.get('not-a-uuid')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(model.restoreWindow.restore(randomUUID(), TEST_ORIGIN)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('with a window of 0, deletes are final: nothing is listed and collection frees the bytes at once', async () => {
    const { workspace, repository } = await newRepository();
    const layer = await uploadBlob(repository, randomBytes(400));
    await putImage(repository, ['v1'], [layer]);
    await final.deletions.deleteImage(repository, TEST_ORIGIN);
    expect(await final.restoreWindow.list({ workspace })).toEqual([]);
    await collectAll();
    expect(await storedBytes(layer)).toBeUndefined();
    expect(await workspaceUsage(pool, workspace)).toBe(0);
  });
});
