import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';
import { adminPortClient, basicAuth, loginNewWorkspace, run, startTestRegistry, tempDir } from './helpers';
import { importRandomImage } from './images';

describe('docker CLI and skopeo through the gateway', () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    expect(process.env.DOCKER_HOST, 'the global setup starts dockerd').toBeTruthy();
    registry = await startTestRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes an imported image, removes it, pulls it back with the same image id', async () => {
    const reference = `${registry.registryHost}/${(await loginNewWorkspace(registry)).slug}/app:v1`;
    const imageId = await importRandomImage(reference);

    const pushOutput = await run('docker', ['push', reference]);
    expect(pushOutput).toMatch(/v1: digest: sha256:[a-f0-9]{64}/);

    await run('docker', ['rmi', reference]);
    await expect(run('docker', ['image', 'inspect', reference])).rejects.toThrow();

    await run('docker', ['pull', reference]);
    expect(await run('docker', ['image', 'inspect', '--format', '{{.Id}}', reference])).toBe(imageId);
  });

  it('pushes several tags of one image and skips layers the registry already has', async () => {
    const workspace = await loginNewWorkspace(registry);
    const repository = `${registry.registryHost}/${workspace.slug}/multi`;
    const headers = { Authorization: basicAuth(workspace.admin) };
    await importRandomImage(`${repository}:v1`);
    await run('docker', ['tag', `${repository}:v1`, `${repository}:v2`]);
    await run('docker', ['tag', `${repository}:v1`, `${repository}:latest`]);
    const first = await run('docker', ['push', `${repository}:v1`]);
    expect(first).toMatch(/: Pushed/);

    const second = await run('docker', ['push', `${repository}:v2`]);
    expect(second).toMatch(/: Layer already exists/);
    expect(second).not.toMatch(/: Pushed/);
    await run('docker', ['push', `${repository}:latest`]);

    const tags = (await (await fetch(`${registry.gatewayUrl}/v2/${repository.slice(registry.registryHost.length + 1)}/tags/list`, { headers })).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['latest', 'v1', 'v2']);
    const digests = new Set(
      await Promise.all(['v1', 'v2', 'latest'].map(async (tag) => (await fetch(`${registry.gatewayUrl}/v2/${repository.slice(registry.registryHost.length + 1)}/manifests/${tag}`, { method: 'HEAD', headers })).headers.get('docker-content-digest'))),
    );
    expect(digests.size).toBe(1);
  });

  it('refuses a push to a name without a package (as one the pusher may not see: docker says denied); pushes once an Admin created it', async () => {
    const client = adminPortClient(registry, admin.AdminServiceClient);
    try {
      const { slug, sourceRepositoryId } = await loginNewWorkspace(registry);
      await unaryCall(client.updateWorkspaceSettings.bind(client), { slug, createPackagesOnPush: false }, { authorization: registry.operator.authorization });
      const reference = `${registry.registryHost}/${slug}/needs-package:v1`;
      await importRandomImage(reference, 64 * 1024);
      // The hint (registryctl package create) is in the body of the refused POST (hidden-packages.test.ts); docker's
      // first request is a HEAD, whose 401 has no body, so it prints the standard refusal.
      await expect(run('docker', ['push', reference])).rejects.toThrow(/denied: requested access to the resource is denied/);

      await unaryCall(client.createPackage.bind(client), { requestId: '', workspaceSlug: slug, name: 'needs-package', sourceRepositoryId, actorUserId: '' }, { authorization: registry.operator.authorization });
      expect(await run('docker', ['push', reference])).toMatch(/v1: digest: sha256:/);
    } finally {
      client.close();
    }
  });

  it('copies an image to an OCI directory and back with skopeo', async () => {
    const { slug: workspace, admin: user } = await loginNewWorkspace(registry);
    const creds = `${user.email}:${user.token}`;
    const source = `${registry.registryHost}/${workspace}/source:v1`;
    await importRandomImage(source);
    await run('docker', ['push', source]);

    const layout = path.join(tempDir('oci'), 'layout');
    await run('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${source}`, `oci:${layout}:v1`]);
    const target = `${registry.registryHost}/${workspace}/copied:v2`;
    await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${layout}:v1`, `docker://${target}`]);

    const copied = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--creds', creds, `docker://${target}`]));
    const original = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--creds', creds, `docker://${source}`]));
    expect(copied.Layers).toEqual(original.Layers);
    expect(copied.RepoTags).toEqual(['v2']);

    // And back out of the registry into a second layout: the same layer bytes arrive.
    const second = path.join(tempDir('oci'), 'layout');
    await run('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${target}`, `oci:${second}:v2`]);
    const index = JSON.parse(readFileSync(path.join(second, 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(1);
  });
});
