// Two gateway replicas in front of one registry (issue 23, finding 5): a
// deletion on one and the collection that follows must reach the other's
// caches at once. Before, a replica answered HEAD 200 for a blob about 30 s
// after the collector freed it (its blob-stat cache), so a pusher skipped the
// upload and its manifest PUT failed with MANIFEST_BLOB_UNKNOWN; and it served
// a deleted manifest by digest from its manifest cache.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { createDatabase } from '@ocireg/testenv';
import { basicAuth, newWorkspace, recordLogDir, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { pollUntil } from './polling';

const BLOB_GRACE_SECONDS = 2;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('cache coherence across gateway replicas', () => {
  let registry: RunningRegistry;
  let ws: TestWorkspace;
  /** The first gateway (registry.gatewayUrl) and a second replica. */
  let second: string;

  beforeAll(async () => {
    // A database of its own: the collector here takes every due review, with short grace periods.
    registry = await startTestRegistry({
      DATABASE_URL: await createDatabase(process.env.DATABASE_URL!, 'coherence'),
      GC_INTERVAL_SECONDS: '0.5',
      GC_BLOB_GRACE_SECONDS: String(BLOB_GRACE_SECONDS),
      GC_UNTAGGED_GRACE_SECONDS: '1',
      // No restore window: these tests expect a delete's bytes freed at once (restore-window.test.ts covers the window).
      RESTORE_WINDOW_SECONDS: '0',
    });
    const replica = await registry.addGateway();
    recordLogDir(replica.logFile.slice(0, replica.logFile.lastIndexOf('/')));
    second = replica.gatewayUrl;
    ws = await newWorkspace(registry, 'coherent');
  });

  afterAll(async () => {
    await registry?.stop();
  });

  const status = async (gateway: string, method: string, path: string, accept?: string) =>
    (await fetch(`${gateway}/v2/${path}`, { method, headers: { Authorization: basicAuth(ws.admin), ...(accept ? { Accept: accept } : {}) } })).status;

  it('a manifest deleted through one replica is gone from the other at once, though that one had it cached', async () => {
    const name = `${ws.slug}/deleted-${randomBytes(3).toString('hex')}`;
    const image = await new OciHttp(registry.gatewayUrl, basicAuth(ws.admin)).pushImage(name, 'v1');
    const byDigest = `${name}/manifests/${image.manifest.digest}`;
    // The second replica reads it once: now it is in its manifest cache (30 s) and blob-stat cache.
    expect(await status(second, 'GET', byDigest, OCI_MANIFEST)).toBe(200);
    expect(await status(second, 'HEAD', `${name}/blobs/${image.layer.digest}`)).toBe(200);

    await new OciHttp(registry.gatewayUrl, basicAuth(ws.admin)).deleteManifest(name, image.manifest.digest);
    const seen = await pollUntil(() => status(second, 'GET', byDigest, OCI_MANIFEST), (code) => code === 404, 2_000);
    expect(seen).toBe(404);
  });

  it('after the collector frees a blob, no replica answers HEAD 200 for it, and a push that HEADs first uploads it again', async () => {
    const name = `${ws.slug}/collected-${randomBytes(3).toString('hex')}`;
    const blobs = [
      { bytes: Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] } })), mediaType: 'application/vnd.oci.image.config.v1+json' },
      { bytes: randomBytes(4096), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
    ];
    /** docker's push: HEAD each blob through `gateway`, upload those it lacks, then PUT the manifest; the manifest PUT's status. */
    const dockerLikePush = async (gateway: string, tag: string) => {
      const oci = new OciHttp(gateway, basicAuth(ws.admin));
      const descriptors = [];
      for (const blob of blobs) {
        const descriptor = { mediaType: blob.mediaType, digest: digestOf(blob.bytes), size: blob.bytes.length };
        if ((await status(gateway, 'HEAD', `${name}/blobs/${descriptor.digest}`)) !== 200) await oci.pushBlob(name, blob.bytes, blob.mediaType);
        descriptors.push(descriptor);
      }
      const document = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptors[0], layers: [descriptors[1]] };
      const response = await fetch(`${gateway}/v2/${name}/manifests/${tag}`, { method: 'PUT', headers: { Authorization: basicAuth(ws.admin), 'Content-Type': OCI_MANIFEST }, body: JSON.stringify(document) });
      return { status: response.status, digest: response.headers.get('docker-content-digest') ?? '', layer: descriptors[1]!.digest };
    };

    const first = await dockerLikePush(registry.gatewayUrl, 'v1');
    expect(first.status).toBe(201);
    const layer = `${name}/blobs/${first.layer}`;
    for (const gateway of [registry.gatewayUrl, second]) expect(await status(gateway, 'HEAD', layer)).toBe(200);

    await new OciHttp(registry.gatewayUrl, basicAuth(ws.admin)).deleteManifest(name, first.digest);
    // The collector unlinks the blobs after their grace period and frees their bytes.
    const freed = await pollUntil(() => status(registry.gatewayUrl, 'GET', layer), (code) => code === 404, (BLOB_GRACE_SECONDS + 20) * 1000, 100);
    expect(freed).toBe(404);
    // Both replicas' HEADs agree within a second (before: 200 for up to 30 s on each).
    for (const gateway of [registry.gatewayUrl, second]) {
      expect(await pollUntil(() => status(gateway, 'HEAD', layer), (code) => code === 404, 1_000)).toBe(404);
    }
    // So a push through the other replica uploads the blobs again, and its manifest is accepted.
    expect((await dockerLikePush(second, 'v2')).status).toBe(201);
  });
});

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
