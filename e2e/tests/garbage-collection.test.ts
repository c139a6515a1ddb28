import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'minio';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, REPO_ROOT, type RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';
import { createDatabase } from '@ocireg/testenv';
import { adminPortClient, basicAuth, loginNewWorkspace, newWorkspace, recordSecret, run, startTestRegistry, tempDir, type TestWorkspace } from './helpers';
import { azureStore, gcsStore, notInThisMode } from './object-stores';
import { OciHttp } from './oci-http';
import { pollUntil } from './polling';

/**
 * Deleting and collecting end to end, with the docker CLI and crane, on each
 * storage backend. Each registry has a database and storage of its own: its
 * collector runs with short grace periods and takes every due review there.
 * Azure and GCS run the round trip that frees bytes in storage (docker push,
 * crane delete, collection); MinIO and the filesystem every case.
 */

const BLOB_GRACE_SECONDS = 3;
const UNTAGGED_GRACE_SECONDS = 4;

interface StorageProbe {
  env: Record<string, string>;
  /** Whether the object at a storage key exists. */
  holds(key: string): Promise<boolean>;
}

const MODES: Array<{ mode: string; probe(): StorageProbe; everyCase: boolean }> = [
  {
    mode: 'S3 (MinIO)',
    probe() {
      const bucket = `gc-e2e-${randomBytes(5).toString('hex')}`;
      const url = new URL(process.env.S3_ENDPOINT!);
      const client = new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, accessKey: process.env.S3_ACCESS_KEY!, secretKey: process.env.S3_SECRET_KEY!, pathStyle: true });
      return {
        env: { STORAGE_BACKEND: 's3', S3_BUCKET: bucket },
        holds: (key) => client.statObject(bucket, key).then(() => true, () => false),
      };
    },
    everyCase: true,
  },
  {
    mode: 'filesystem',
    probe() {
      const dataDir = tempDir('gc-e2e');
      return { env: { STORAGE_BACKEND: 'filesystem', DATA_DIR: dataDir }, holds: async (key) => existsSync(path.join(dataDir, 'blobs', 'objects', ...key.split('/'))) };
    },
    everyCase: true,
  },
  { mode: 'Azure Blob Storage (Azurite)', probe: () => azureStore('gc-e2e'), everyCase: false },
  { mode: 'Google Cloud Storage (fake-gcs-server)', probe: () => gcsStore('gc-e2e'), everyCase: false },
];

describe.each(MODES)('deleting and garbage collection on $mode', ({ probe, everyCase }) => {
  let registry: RunningRegistry;
  let storage: StorageProbe;
  let database: pg.Pool;
  let ws: TestWorkspace;
  let oci: OciHttp;
  let adminClient: admin.AdminServiceClient;

  beforeAll(async () => {
    storage = probe();
    const databaseUrl = await createDatabase(process.env.DATABASE_URL!, 'gce2e');
    registry = await startTestRegistry({
      ...storage.env,
      DATABASE_URL: databaseUrl,
      GC_INTERVAL_SECONDS: '0.5',
      GC_BLOB_GRACE_SECONDS: String(BLOB_GRACE_SECONDS),
      GC_UNTAGGED_GRACE_SECONDS: String(UNTAGGED_GRACE_SECONDS),
      // No restore window: these tests expect a delete's bytes freed at once (restore-window.test.ts covers the window).
      RESTORE_WINDOW_SECONDS: '0',
    });
    database = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    ws = await loginNewWorkspace(registry, 'gc'); // docker and crane use these credentials
    oci = new OciHttp(registry.gatewayUrl, basicAuth(ws.admin));
    adminClient = adminPortClient(registry, admin.AdminServiceClient);
  }, 120_000);

  afterAll(async () => {
    adminClient?.close();
    await registry?.stop();
    await database?.end();
  });

  const storageKeyOf = async (digest: string) => (await database.query<{ storage_key: string }>('SELECT storage_key FROM blobs WHERE digest = $1', [digest])).rows[0]?.storage_key;
  const usage = async () => Number((await unaryCall(adminClient.getStorageUsage.bind(adminClient), { workspaceSlug: ws.slug }, { authorization: registry.operator.authorization })).workspaceBytes);
  const manifestStatus = async (repository: string, reference: string) =>
    (await fetch(`${registry.gatewayUrl}/v2/${repository}/manifests/${reference}`, { method: 'HEAD', headers: { Authorization: basicAuth(ws.admin), Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' } })).status;
  /** The blobs an image's manifest names, with their sizes. */
  async function blobsOf(repository: string, reference: string): Promise<Map<string, number>> {
    const { body } = await oci.getJson<{ config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> }>(`/v2/${repository}/manifests/${reference}`);
    return new Map([body.config, ...body.layers].map((descriptor) => [descriptor.digest, descriptor.size]));
  }

  it('docker pushes two images sharing a layer; crane deletes one; collection frees exactly its own blobs, the other still pulls', async () => {
    const dir = tempDir('gc-build');
    const base = `${registry.registryHost}/${ws.slug}/base-${randomBytes(3).toString('hex')}`;
    const rootfs = path.join(dir, 'rootfs');
    mkdirSync(rootfs);
    writeFileSync(path.join(rootfs, 'shared.bin'), randomBytes(1024 * 1024));
    await run('tar', ['-C', rootfs, '-cf', path.join(dir, 'base.tar'), '.']);
    await run('docker', ['import', path.join(dir, 'base.tar'), `${base}:local`]);
    const images: Record<'one' | 'two', string> = { one: `${registry.registryHost}/${ws.slug}/app-one`, two: `${registry.registryHost}/${ws.slug}/app-two` };
    for (const [name, reference] of Object.entries(images)) {
      const context = path.join(dir, name);
      mkdirSync(context);
      writeFileSync(path.join(context, 'own.bin'), randomBytes(512 * 1024));
      writeFileSync(path.join(context, 'Dockerfile'), `FROM ${base}:local\nCOPY own.bin /own-${name}.bin\n`);
      await run('docker', ['build', '-q', '-t', `${reference}:v1`, context], { env: { DOCKER_BUILDKIT: '0' } });
      await run('docker', ['push', `${reference}:v1`]);
    }
    const one = await blobsOf(`${ws.slug}/app-one`, 'v1');
    const two = await blobsOf(`${ws.slug}/app-two`, 'v1');
    const shared = [...one.keys()].filter((digest) => two.has(digest));
    const unique = [...one.keys()].filter((digest) => !two.has(digest));
    expect(shared).toHaveLength(1); // the base layer (configs differ)
    const uniqueKeys = await Promise.all(unique.map(storageKeyOf));
    const sharedKey = (await storageKeyOf(shared[0]!))!;
    for (const key of [...uniqueKeys, sharedKey]) expect(await storage.holds(key!)).toBe(true);
    const before = await usage();

    const digest = await run('crane', ['digest', '--insecure', `${images.one}:v1`]);
    await run('crane', ['delete', '--insecure', `${images.one}@${digest}`]);
    expect(await manifestStatus(`${ws.slug}/app-one`, 'v1')).toBe(404);
    // Not before the grace period for unreferenced blob links: a push between its HEAD and PUT could still need them.
    expect(await storage.holds(uniqueKeys[0]!)).toBe(true);
    await pollUntil(async () => (await Promise.all(unique.map(storageKeyOf))).every((key) => key === undefined), (gone) => gone, (BLOB_GRACE_SECONDS + 15) * 1000, 250);
    for (const key of uniqueKeys) expect(await storage.holds(key!)).toBe(false);
    expect(await storage.holds(sharedKey)).toBe(true);
    expect(await usage()).toBe(before - unique.reduce((sum, d) => sum + one.get(d)!, 0));

    await run('docker', ['rmi', '-f', `${images.two}:v1`, `${images.one}:v1`, `${base}:local`]);
    await run('docker', ['pull', `${images.two}:v1`]);
  }, 180_000);

  (everyCase ? it : notInThisMode)('a push refused by the quota succeeds after a delete and a collection', async () => {
    const quotaWorkspace = await newWorkspace(registry, 'quota'); // no docker login: the file's credentials stay the main workspace's
    const api = new OciHttp(registry.gatewayUrl, basicAuth(quotaWorkspace.admin));
    const asOperator = { authorization: registry.operator.authorization };
    const usageOf = async () => Number((await unaryCall(adminClient.getStorageUsage.bind(adminClient), { workspaceSlug: quotaWorkspace.slug }, asOperator)).workspaceBytes);
    const layer = (size: number) => randomBytes(size);
    const repository = `${quotaWorkspace.slug}/big`;
    const first = await api.pushBlob(repository, layer(600_000), 'application/vnd.oci.image.layer.v1.tar');
    const config = await api.pushBlob(repository, Buffer.from('{"architecture":"amd64","os":"linux"}'), 'application/vnd.oci.image.config.v1+json');
    const image = await api.pushManifest(repository, 'v1', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [first] } as { mediaType: string });
    await unaryCall(adminClient.updateWorkspaceSettings.bind(adminClient), { slug: quotaWorkspace.slug, storageQuotaBytes: (await usageOf()) + 100_000 }, asOperator);
    const second = layer(500_000);
    await expect(api.pushBlob(repository, second, 'application/vnd.oci.image.layer.v1.tar')).rejects.toThrow(/quota|DENIED|40[03]/i);

    await api.deleteManifest(repository, image.digest);
    await pollUntil(usageOf, (bytes) => bytes === 0, (BLOB_GRACE_SECONDS + 15) * 1000, 250);
    await api.pushBlob(repository, second, 'application/vnd.oci.image.layer.v1.tar');
    expect(await usageOf()).toBe(500_000);
  }, 60_000);

  (everyCase ? it : notInThisMode)('registryctl deletes tags, manifests and images, keeps untagged manifests where asked, shows gc status and a dry run, and runs a round', async () => {
    const cli = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
    const ctl = async (...args: string[]) => JSON.parse(await run(process.execPath, [cli, '--admin', registry.adminAddress, '--token', registry.operator.token, ...args])) as Record<string, any>;
    const kept = await newWorkspace(registry, 'keep');
    const keptApi = new OciHttp(registry.gatewayUrl, basicAuth(kept.admin));
    expect((await ctl('workspace', 'settings', kept.slug, '--keep-untagged-manifests', 'true')).workspace.keepUntaggedManifests).toBe(true);
    const keptImage = await keptApi.pushImage(`${kept.slug}/pinned`, 'v1');
    await ctl('tag', 'delete', kept.slug, 'pinned', 'v1');

    const repository = `${ws.slug}/ctl`;
    const first = await oci.pushImage(repository, 'a');
    const second = await oci.pushImage(repository, 'b');
    await oci.pushManifest(repository, 'c', second.document);
    expect(await ctl('manifest', 'delete', ws.slug, 'ctl', second.manifest.digest)).toEqual({ deletedTags: ['b', 'c'] });
    await ctl('tag', 'delete', ws.slug, 'ctl', 'a');
    await expect(ctl('tag', 'delete', ws.slug, 'ctl', 'a')).rejects.toThrow(/MANIFEST_UNKNOWN|NOT_FOUND|unknown/);
    await expect(ctl('manifest', 'delete', ws.slug, 'ctl', 'sha256:nothex')).rejects.toThrow(/DIGEST_INVALID|INVALID_ARGUMENT/);
    await oci.pushImage(`${ws.slug}/ctl-image`, 'x');
    await oci.pushImage(`${ws.slug}/ctl-image`, 'y');
    expect(await ctl('image', 'delete', ws.slug, 'ctl-image')).toEqual({ deletedManifests: 2, deletedTags: 2 });

    // The untagged manifest waits for its grace period: the dry run names what is due, and why.
    await new Promise((resolve) => setTimeout(resolve, UNTAGGED_GRACE_SECONDS * 1000 + 200));
    const status = await ctl('gc', 'status');
    expect(Object.keys(status)).toEqual(expect.arrayContaining(['reviewsPending', 'reviewsDue', 'oldestDueSeconds', 'totals']));
    const dry = await ctl('gc', 'run', '--dry-run', '--sweep');
    const dryManifests = (dry.decided ?? []).filter((item: { kind: string }) => item.kind === 'manifest');
    if (dryManifests.length > 0) expect(dryManifests[0].why).toMatch(/untagged since/); // unless the loop got there first
    expect(dry.swept).toBe(true);
    await ctl('gc', 'run');
    await pollUntil(() => manifestStatus(repository, first.manifest.digest), (code) => code === 404, 10_000, 200);
    const keptHead = await fetch(`${registry.gatewayUrl}/v2/${kept.slug}/pinned/manifests/${keptImage.manifest.digest}`, { method: 'HEAD', headers: { Authorization: basicAuth(kept.admin) } });
    expect(keptHead.status).toBe(200);
    expect(Number((await ctl('gc', 'status')).totals.manifests)).toBeGreaterThan(0);
    // What collection did, for Prometheus.
    const metrics = await (await fetch(registry.metricsUrl('metadata'))).text();
    for (const name of ['metadata_gc_reviews_pending', 'metadata_gc_reviews_due', 'metadata_gc_oldest_due_review_age_seconds', 'metadata_gc_blobs_marked']) expect(metrics).toMatch(new RegExp(`^${name}\\{[^}]*\\} \\d`, 'm'));
    expect(Number(/^metadata_gc_deleted_total\{[^}]*kind="manifest"[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);

    // Operators only.
    const nobody = await createUserWithToken(registry.adminAddress, { email: `nobody-${randomBytes(3).toString('hex')}@gc.example.com`, scopes: ['read:package', 'write:package', 'admin:package'] }, registry.operator.authorization);
    recordSecret(nobody.token);
    await expect(run(process.execPath, [cli, '--admin', registry.adminAddress, '--token', nobody.token, 'gc', 'run', '--dry-run'])).rejects.toThrow(/PERMISSION_DENIED|DENIED/);
  }, 60_000);

  (everyCase ? it : notInThisMode)('collects a manifest a tag overwrite left untagged after the grace period, not before, and listings drop it', async () => {
    const repository = `${ws.slug}/overwritten`;
    const first = await oci.pushImage(repository, 'latest');
    const overwrittenAt = Date.now();
    await oci.pushImage(repository, 'latest');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await manifestStatus(repository, first.manifest.digest)).toBe(200);
    await pollUntil(() => manifestStatus(repository, first.manifest.digest), (status) => status === 404, (UNTAGGED_GRACE_SECONDS + 15) * 1000, 200);
    expect(Date.now() - overwrittenAt).toBeGreaterThanOrEqual(UNTAGGED_GRACE_SECONDS * 1000);
    // The listing (indexer) drops it too, from the event the collector wrote.
    const listed = async () => (await oci.getJson<{ manifests: Array<{ digest: string }> }>(`/api/v1/workspaces/${ws.slug}/images/overwritten`)).body.manifests.map((m) => m.digest);
    await pollUntil(listed, (digests) => digests.length === 1 && !digests.includes(first.manifest.digest), 5000, 100);
    const { rows } = await database.query(`SELECT 1 FROM outbox WHERE action = 'manifest.deleted' AND envelope->'target'->>'digest' = $1 AND published_at IS NOT NULL`, [first.manifest.digest]);
    expect(rows).toHaveLength(1);
  }, 60_000);

  (everyCase ? it : notInThisMode)('refuses a Read user deleting a tag and a Write user deleting an image; a Write user deletes a tag', async () => {
    const repository = `${ws.slug}/roles`;
    const image = await oci.pushImage(repository, 'v1');
    await oci.pushManifest(repository, 'v2', image.document);
    const member = async (role: 'read' | 'write') => {
      const user = await createUserWithToken(registry.adminAddress, { email: `${role}-${randomBytes(3).toString('hex')}@gc.example.com`, scopes: ['read:package', 'write:package'], sourceRepositoryId: ws.sourceRepositoryId, role }, registry.operator.authorization);
      recordSecret(user.token);
      return { Authorization: basicAuth(user) };
    };
    const [reader, writer] = [await member('read'), await member('write')];
    const remove = (reference: string, headers: Record<string, string>) => fetch(`${registry.gatewayUrl}/v2/${repository}/manifests/${reference}`, { method: 'DELETE', headers });
    const refusedTag = await remove('v1', reader);
    expect(refusedTag.status).toBe(401);
    expect(((await refusedTag.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DENIED');
    expect((await remove(image.manifest.digest, writer)).status).toBe(401);
    expect(await manifestStatus(repository, image.manifest.digest)).toBe(200);
    expect((await remove('v1', writer)).status).toBe(202);
    expect(await manifestStatus(repository, 'v1')).toBe(404);
    expect(await manifestStatus(repository, 'v2')).toBe(200);
  });

  (everyCase ? it : notInThisMode)('deleting a multi-arch index collects its platform manifests and signatures nothing else points at, and their layers', async () => {
    const repository = `${ws.slug}/multiarch`;
    const amd64 = await oci.pushImage(repository, 'amd64-only', { os: 'linux', architecture: 'amd64' });
    const arm64 = await oci.pushImage(repository, 'tmp-arm64', { os: 'linux', architecture: 'arm64' });
    const kept = await oci.pushImage(repository, 'kept', { os: 'linux', architecture: 's390x' });
    const entry = (pushed: typeof amd64, architecture: string) => ({ ...pushed.manifest, platform: { os: 'linux', architecture } });
    const index = await oci.pushManifest(repository, 'v1', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry(amd64, 'amd64'), entry(arm64, 'arm64'), entry(kept, 's390x')] } as { mediaType: string });
    // The platform manifests are the index's alone once their own tags go (kept keeps its tag).
    for (const tag of ['amd64-only', 'tmp-arm64']) expect((await fetch(`${registry.gatewayUrl}/v2/${repository}/manifests/${tag}`, { method: 'DELETE', headers: { Authorization: basicAuth(ws.admin) } })).status).toBe(202);
    const signatureLayer = await oci.pushBlob(repository, randomBytes(300), 'application/vnd.dev.cosign.simplesigning.v1+json');
    const emptyConfig = await oci.pushBlob(repository, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    const signature = await oci.pushManifest(repository, `sha256-${index.digest.slice(7)}.sig`, {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      config: emptyConfig,
      layers: [signatureLayer],
      subject: index,
    } as { mediaType: string });

    await run('crane', ['delete', '--insecure', `${registry.registryHost}/${repository}@${index.digest}`]);
    const collected = [amd64.manifest.digest, arm64.manifest.digest, signature.digest];
    await pollUntil(async () => Promise.all(collected.map((digest) => manifestStatus(repository, digest))), (statuses) => statuses.every((status) => status === 404), 15_000, 200);
    expect(await manifestStatus(repository, kept.manifest.digest)).toBe(200);
    // Their own layers follow once the blob grace period passed; the kept image's stay.
    const freedLayers = [amd64.layer.digest, arm64.layer.digest, signatureLayer.digest];
    await pollUntil(async () => Promise.all(freedLayers.map(storageKeyOf)), (keys) => keys.every((key) => key === undefined), (BLOB_GRACE_SECONDS + 15) * 1000, 250);
    expect(await storageKeyOf(kept.layer.digest)).toBeDefined();
  }, 60_000);
});
