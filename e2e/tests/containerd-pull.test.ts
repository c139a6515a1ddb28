import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { basicAuth, loginNewWorkspace, run, startTestRegistry, tempDir } from './helpers';
import { pollUntil } from './polling';
import { startContainerd } from './containerd';
import { importRandomImage } from './images';

/** containerd's resolver is the one kubelet and buildkit use; ctr drives it. */
describe('containerd (ctr) pulls what docker pushed', () => {
  let registry: RunningRegistry;
  let containerd: Awaited<ReturnType<typeof startContainerd>>;
  let socket: string;

  beforeAll(async () => {
    registry = await startTestRegistry({ PULL_FLUSH_SECONDS: '1' });
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

    // containerd resolves the tag with a HEAD, then fetches by digest: the tag counts as pulled (docs/lifecycle.md).
    const tags = async () => {
      const res = await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${workspace.slug}/images/ctr-app/-/tags`, { headers: { Authorization: basicAuth(workspace.admin) } });
      return res.status === 200 ? ((await res.json()) as { tags: Array<{ tag: string; lastPulledAt: string; manifest: { lastPulledAt: string } | null }> }).tags : [];
    };
    const listedTags = await pollUntil(tags, (found) => found.some((t) => t.tag === 'v1' && t.lastPulledAt !== '' && t.manifest?.lastPulledAt !== ''), 15_000, 200);
    expect(listedTags.find((t) => t.tag === 'v1')!.lastPulledAt).toMatch(/^\d{4}-/);
  });
});
