import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { run, startTestRegistry, tempDir, uniqueName } from './helpers';

/** A small image made without pulling anything: a rootfs of random bytes, imported. */
async function importRandomImage(reference: string): Promise<string> {
  const rootfs = path.join(tempDir('rootfs'), 'rootfs');
  mkdirSync(path.join(rootfs, 'data'), { recursive: true });
  writeFileSync(path.join(rootfs, 'data', 'random.bin'), randomBytes(3 * 1024 * 1024));
  writeFileSync(path.join(rootfs, 'hello.txt'), `made for ${reference}\n`);
  const tarball = path.join(path.dirname(rootfs), 'rootfs.tar');
  await run('tar', ['-C', rootfs, '-cf', tarball, '.']);
  await run('docker', ['import', tarball, reference]);
  return run('docker', ['image', 'inspect', '--format', '{{.Id}}', reference]);
}

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
    const index = JSON.parse(await run('cat', [path.join(second, 'index.json')]));
    expect(index.manifests).toHaveLength(1);
  });
});
