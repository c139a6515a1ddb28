import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { loginNewWorkspace, run, startTestRegistry, tempDir } from './helpers';
import { importRandomImage } from './images';

/** containerd's resolver is the one kubelet and buildkit use; ctr drives it. */
describe('containerd (ctr) pulls what docker pushed', () => {
  let registry: RunningRegistry;
  let containerd: ChildProcess;
  let socket: string;

  beforeAll(async () => {
    registry = await startTestRegistry();
    const dir = tempDir('containerd');
    socket = path.join(dir, 'containerd.sock');
    const config = path.join(dir, 'config.toml');
    writeFileSync(
      config,
      ['version = 2', `root = "${dir}/root"`, `state = "${dir}/state"`, 'disabled_plugins = ["io.containerd.grpc.v1.cri"]', '[grpc]', `  address = "${socket}"`].join('\n'),
    );
    containerd = spawn('containerd', ['--config', config], { stdio: 'ignore' });
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await run('ctr', ['--address', socket, 'version']);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  });

  afterAll(async () => {
    containerd?.kill('SIGTERM');
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
