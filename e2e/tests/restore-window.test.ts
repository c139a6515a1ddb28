import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type RunningRegistry } from '@ocireg/devstack';
import { basicAuth, loginNewWorkspace, run, startTestRegistry, type TestWorkspace } from './helpers';
import { importRandomImage } from './images';
import { pollUntil } from './polling';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
const BLOB_GRACE_SECONDS = 10;
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json';

interface DeletionJson {
  id: string;
  kind: string;
  fullName: string;
  actorEmail: string;
  tags: Array<{ tag: string; digest: string }>;
  manifests: Array<{ digest: string }>;
  bytes: number;
}

/**
 * The restore window end to end (docs/lifecycle-restore.md), with the default
 * window and collection running every half second: an image docker pushed and
 * deleted through the JSON API is listed, survives collection, is restored
 * and pulled again by its digest; a tag deleted on /v2 comes back through
 * registryctl.
 */
describe('the restore window: docker push, delete, restore, docker pull', () => {
  let registry: RunningRegistry;
  let ws: TestWorkspace;

  beforeAll(async () => {
    expect(process.env.DOCKER_HOST, 'the global setup starts dockerd').toBeTruthy();
    // Short grace periods (a blob needs one between docker's blob upload and its manifest PUT): past them, only the restore window keeps what a delete removed.
    registry = await startTestRegistry({ GC_INTERVAL_SECONDS: '0.5', GC_BLOB_GRACE_SECONDS: String(BLOB_GRACE_SECONDS), GC_UNTAGGED_GRACE_SECONDS: '0' });
    ws = await loginNewWorkspace(registry, 'restore');
  });

  afterAll(async () => {
    await registry?.stop();
  });

  const api = async <T>(method: string, route: string): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${registry.gatewayUrl}/api/v1${route}`, { method, headers: { Authorization: basicAuth(ws.admin), Accept: 'application/json' } });
    return { status: response.status, body: (await response.json()) as T };
  };
  const manifestStatus = async (name: string, reference: string) =>
    (await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/${name}/manifests/${reference}`, { method: 'HEAD', headers: { Authorization: basicAuth(ws.admin), Accept: ACCEPT } })).status;

  it('an image deleted through the JSON API is listed, kept through collection, restored with the same digest, and docker pulls it by digest', async () => {
    const reference = `${registry.registryHost}/${ws.slug}/app`;
    const imageId = await importRandomImage(`${reference}:v1`);
    const pushed = await run('docker', ['push', `${reference}:v1`]);
    const digest = /v1: digest: (sha256:[a-f0-9]{64})/.exec(pushed)![1]!;

    const deleted = await api<{ deleted: { manifests: number; tags: number } }>('DELETE', `/workspaces/${ws.slug}/images/app`);
    expect(deleted).toMatchObject({ status: 200, body: { deleted: { manifests: 1, tags: 1 } } });
    expect(await manifestStatus('app', digest)).toBe(404);

    const listed = await api<{ deletions: DeletionJson[]; restoreWindowSeconds: number }>('GET', `/workspaces/${ws.slug}/images/app/-/deleted`);
    expect(listed.status).toBe(200);
    expect(listed.body.restoreWindowSeconds).toBe(7 * 24 * 3600);
    const [deletion] = listed.body.deletions;
    expect(deletion).toMatchObject({ kind: 'image', fullName: `${ws.slug}/app`, actorEmail: ws.admin.email, tags: [{ tag: 'v1', digest }], manifests: [{ digest }] });
    expect(deletion!.bytes).toBeGreaterThan(1024 * 1024);
    const usage = await api<{ workspaceBytes: number; restoreWindow: { bytes: number; deletions: number } }>('GET', `/workspaces/${ws.slug}/usage`);
    expect(usage.body.restoreWindow).toMatchObject({ bytes: deletion!.bytes, deletions: 1 });
    expect(usage.body.workspaceBytes).toBeGreaterThanOrEqual(deletion!.bytes);

    // Collection rounds pass, past the blob grace period: nothing the deletion holds is freed.
    await new Promise((resolve) => setTimeout(resolve, (BLOB_GRACE_SECONDS + 3) * 1000));
    expect((await api<{ workspaceBytes: number }>('GET', `/workspaces/${ws.slug}/usage`)).body.workspaceBytes).toBe(usage.body.workspaceBytes);

    const restored = await api<{ restoredManifests: string[]; restoredTags: string[] }>('POST', `/workspaces/${ws.slug}/deleted/${deletion!.id}/restore`);
    expect(restored).toMatchObject({ status: 200, body: { restoredManifests: [digest], restoredTags: ['v1'] } });
    expect(await manifestStatus('app', 'v1')).toBe(200);
    // Restored once: a second restore finds nothing in the window.
    expect((await api('POST', `/workspaces/${ws.slug}/deleted/${deletion!.id}/restore`)).status).toBe(404);

    await run('docker', ['rmi', `${reference}:v1`]);
    await run('docker', ['pull', `${reference}@${digest}`]);
    expect(await run('docker', ['image', 'inspect', '--format', '{{.Id}}', `${reference}@${digest}`])).toBe(imageId);
    // Listings show it again (the restore emits the events a push does).
    const image = await pollUntil(
      () => api<{ tags: Array<{ tag: string; digest: string }> }>('GET', `/workspaces/${ws.slug}/images/app`),
      (answer) => answer.status === 200 && answer.body.tags.some((t) => t.tag === 'v1'),
      10_000,
      100,
    );
    expect(image.body.tags.map((t) => [t.tag, t.digest])).toEqual([['v1', digest]]);
  });

  it('a tag deleted on /v2 comes back with registryctl deleted restore; a restore over a tag pushed again elsewhere is refused', async () => {
    const ctl = async (...args: string[]) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, ...args]));
    const reference = `${registry.registryHost}/${ws.slug}/tool`;
    await importRandomImage(`${reference}:stable`, 64 * 1024);
    const digest = /stable: digest: (sha256:[a-f0-9]{64})/.exec(await run('docker', ['push', `${reference}:stable`]))![1]!;
    await run('docker', ['tag', `${reference}:stable`, `${reference}:v2`]);
    await run('docker', ['push', `${reference}:v2`]);

    const v2 = await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/tool/manifests/v2`, { method: 'DELETE', headers: { Authorization: basicAuth(ws.admin) } });
    expect(v2.status).toBe(202);
    const listed = await ctl('deleted', 'list', ws.slug, '--package', 'tool');
    const deletion = (listed.deletions as DeletionJson[]).find((d) => d.tags.some((t) => t.tag === 'v2'))!;
    expect(deletion).toMatchObject({ kind: 'tag', tags: [{ tag: 'v2', digest }] });
    expect((await ctl('deleted', 'list', ws.slug)).deletions.map((d: DeletionJson) => d.id)).toContain(deletion.id);

    // v2 pushed again, to another image: the restore is refused and says which tag.
    await importRandomImage(`${reference}:v2`, 64 * 1024);
    await run('docker', ['push', `${reference}:v2`]);
    await expect(ctl('deleted', 'restore', ws.slug, deletion.id)).rejects.toThrow(/FAILED_PRECONDITION.*v2 \(now sha256:/);
    // Deleted again, the old v2 is restored: it points to the first digest once more.
    expect((await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/tool/manifests/v2`, { method: 'DELETE', headers: { Authorization: basicAuth(ws.admin) } })).status).toBe(202);
    const restored = await ctl('deleted', 'restore', ws.slug, deletion.id);
    // JSON of the answer: an empty list is left out (no manifest came back: the tag's manifest never went).
    expect([restored.restoredTags, restored.restoredManifests ?? []]).toEqual([['v2'], []]);
    const head = await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/tool/manifests/v2`, { method: 'HEAD', headers: { Authorization: basicAuth(ws.admin), Accept: ACCEPT } });
    expect(head.headers.get('docker-content-digest')).toBe(digest);
  });
});
