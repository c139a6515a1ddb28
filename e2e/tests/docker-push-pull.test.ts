import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { run, startTestRegistry, tempDir, uniqueName } from './helpers';
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
    const reference = `${registry.registryHost}/${uniqueName('ws')}/app:v1`;
    const imageId = await importRandomImage(reference);

    const pushOutput = await run('docker', ['push', reference]);
    expect(pushOutput).toMatch(/v1: digest: sha256:[a-f0-9]{64}/);

    await run('docker', ['rmi', reference]);
    await expect(run('docker', ['image', 'inspect', reference])).rejects.toThrow();

    await run('docker', ['pull', reference]);
    expect(await run('docker', ['image', 'inspect', '--format', '{{.Id}}', reference])).toBe(imageId);
  });

  it('pushes several tags of one image and skips layers the registry already has', async () => {
    const repository = `${registry.registryHost}/${uniqueName('ws')}/multi`;
    await importRandomImage(`${repository}:v1`);
    await run('docker', ['tag', `${repository}:v1`, `${repository}:v2`]);
    await run('docker', ['tag', `${repository}:v1`, `${repository}:latest`]);
    const first = await run('docker', ['push', `${repository}:v1`]);
    expect(first).toMatch(/: Pushed/);

    const second = await run('docker', ['push', `${repository}:v2`]);
    expect(second).toMatch(/: Layer already exists/);
    expect(second).not.toMatch(/: Pushed/);
    await run('docker', ['push', `${repository}:latest`]);

    const tags = (await (await fetch(`${registry.gatewayUrl}/v2/${repository.slice(registry.registryHost.length + 1)}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['latest', 'v1', 'v2']);
    const digests = new Set(
      await Promise.all(['v1', 'v2', 'latest'].map(async (tag) => (await fetch(`${registry.gatewayUrl}/v2/${repository.slice(registry.registryHost.length + 1)}/manifests/${tag}`, { method: 'HEAD' })).headers.get('docker-content-digest'))),
    );
    expect(digests.size).toBe(1);
  });

  it('copies an image to an OCI directory and back with skopeo', async () => {
    const workspace = uniqueName('ws');
    const source = `${registry.registryHost}/${workspace}/source:v1`;
    await importRandomImage(source);
    await run('docker', ['push', source]);

    const layout = path.join(tempDir('oci'), 'layout');
    await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${source}`, `oci:${layout}:v1`]);
    const target = `${registry.registryHost}/${workspace}/copied:v2`;
    await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${target}`]);

    const copied = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', `docker://${target}`]));
    const original = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', `docker://${source}`]));
    expect(copied.Layers).toEqual(original.Layers);
    expect(copied.RepoTags).toEqual(['v2']);

    // And back out of the registry into a second layout: the same layer bytes arrive.
    const second = path.join(tempDir('oci'), 'layout');
    await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${target}`, `oci:${second}:v2`]);
    const index = JSON.parse(readFileSync(path.join(second, 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(1);
  });
});
