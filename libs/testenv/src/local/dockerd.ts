import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { DependencyError, removeDir, removeOnExit, waitUntilReady, type ProcessGroup } from '../processes';
import { execFileAsync, type StartedServer } from './server';

/**
 * dockerd as the e2e tests' docker CLI needs it (see DESIGN.md): no iptables,
 * no bridge, vfs storage, its own data/exec roots and socket. It has no images
 * and reaches no registry but the ones on loopback.
 */
export async function startDockerd(dir: string, group: ProcessGroup): Promise<StartedServer> {
  if (process.getuid?.() !== 0) throw new DependencyError('dockerd', 'needs root');
  // Unix socket paths are limited to ~100 bytes, so its root is a short /tmp path, not the work dir.
  const root = path.join('/tmp', `ocireg-dockerd-${randomBytes(3).toString('hex')}`);
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o711);
  const forget = removeOnExit(root);
  const socket = path.join(root, 'docker.sock');
  const host = `unix://${socket}`;
  const server = group.start(
    'dockerd',
    'dockerd',
    [
      '--storage-driver=vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--data-root=${path.join(root, 'data')}`,
      `--exec-root=${path.join(root, 'exec')}`,
      `--pidfile=${path.join(root, 'docker.pid')}`,
      `--host=${host}`,
    ],
    {
      logFile: path.join(dir, 'dockerd.log'),
      // Its root holds the images the tests pushed or pulled: remove it with the daemon.
      afterStop: () => {
        removeDir(root);
        forget();
      },
    },
  );
  await waitUntilReady(server, async () => (await execFileAsync('docker', ['--host', host, 'version'])) !== undefined, 60_000);
  return { env: { DOCKER_HOST: host }, server };
}
