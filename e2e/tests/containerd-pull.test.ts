import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { loginNewWorkspace, run, startTestRegistry, tempDir } from './helpers';
import { startContainerd } from './containerd';
import { importRandomImage } from './images';

/** containerd's resolver is the one kubelet and buildkit use; ctr drives it. */
describe('containerd (ctr) pulls what docker pushed', () => {
  let registry: RunningRegistry;
  let containerd: Awaited<ReturnType<typeof startContainerd>>;
  let socket: string;

  beforeAll(async () => {
    registry = await startTestRegistry();
    containerd = await startContainerd(tempDir('containerd'));
    socket = containerd.socket;
  });

  afterAll(async () => {
    containerd?.stop();
    await registry?.stop();
  });

  it('pulls and unpacks an image pushed by docker', async () => {
    const workspace = await loginNewWorkspace(registry);
    const reference = `${registry.registryHost}/${workspace.slug}/ctr-app:v1`;
    await importRandomImage(reference);
    const pushed = await run('docker', ['push', reference]);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(pushed)![1];

    await run('ctr', ['--address', socket, 'images', 'pull', '--plain-http', '--snapshotter', 'native', '--user', `${workspace.admin.email}:${workspace.admin.token}`, reference]);
    const listed = await run('ctr', ['--address', socket, 'images', 'ls']);
    const line = listed.split('\n').find((entry) => entry.startsWith(reference));
    expect(line).toBeDefined();
    expect(line).toContain(digest);
    expect(line).toContain('linux/amd64');
  });
});
