// Last-pulled times (issue 24) end to end: real docker and crane pull through
// the gateway, which batches the pulls (PULL_FLUSH_SECONDS=1 here) into
// metadata's RecordPulls; the JSON API, the admin API (registryctl) show the
// times, and what nobody pulled shows none.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type RunningRegistry } from '@ocireg/devstack';
import { webApi } from '@ocireg/web-api';
import { basicAuth, loginNewWorkspace, run, startTestRegistry, type TestWorkspace } from './helpers';
import { importRandomImage } from './images';
import { pollUntil } from './polling';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');

interface ListedManifest {
  digest: string;
  lastPulledAt: string;
  children: ListedManifest[];
}
interface ListedTag {
  tag: string;
  digest: string;
  lastPulledAt: string;
  manifest: ListedManifest | null;
}

describe('last-pulled times: docker and crane pulls show up in the listings after a flush', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let image: string;
  const digests: Record<string, string> = {};

  const api = async <T>(route: string): Promise<T> => {
    const res = await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${workspace.slug}/images/app${route}`, { headers: { Authorization: basicAuth(workspace.admin) } });
    expect(res.status, route).toBe(200);
    return (await res.json()) as T;
  };
  const listedTags = async () => Object.fromEntries((await api<{ tags: ListedTag[] }>('/-/tags?page_size=50')).tags.map((t) => [t.tag, t]));
  const ctl = (...args: string[]) => run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, ...args]);

  beforeAll(async () => {
    registry = await startTestRegistry({ PULL_FLUSH_SECONDS: '1' });
    workspace = await loginNewWorkspace(registry, 'pulls');
    image = `${registry.registryHost}/${workspace.slug}/app`;
    // Three images of their own: pulled with docker, never pulled, pulled by digest with crane.
    for (const tag of ['pulled', 'never', 'by-digest']) {
      await importRandomImage(`${image}:${tag}`, 64 * 1024);
      const pushed = await run('docker', ['push', `${image}:${tag}`]);
      digests[tag] = /digest: (sha256:[a-f0-9]{64})/.exec(pushed)![1]!;
    }
    // Listed by the indexer (its lag), before any pull.
    await pollUntil(listedTags, (tags) => Object.keys(tags).length === 3 && Object.values(tags).every((t) => t.manifest !== null), 15_000, 100);
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('a pushed tag shows no last-pulled time; docker pull gives it (and its manifest) one after a flush; the others stay never pulled', async () => {
    // Pushing is not pulling: after a flush or two, nothing has a time.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    for (const entry of Object.values(await listedTags())) {
      expect(entry.lastPulledAt, entry.tag).toBe('');
      expect(entry.manifest!.lastPulledAt, entry.tag).toBe('');
    }

    await run('docker', ['rmi', `${image}:pulled`]);
    const before = Date.now();
    await run('docker', ['pull', `${image}:pulled`]);
    const after = Date.now();
    const tags = await pollUntil(listedTags, (listed) => listed.pulled!.lastPulledAt !== '', 15_000, 200);
    const pulledAt = Date.parse(tags.pulled!.lastPulledAt);
    expect(pulledAt).toBeGreaterThanOrEqual(before - 1000);
    expect(pulledAt).toBeLessThanOrEqual(after + 1000);
    expect(Date.parse(tags.pulled!.manifest!.lastPulledAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(tags.never!.lastPulledAt).toBe('');
    expect(tags.never!.manifest!.lastPulledAt).toBe('');
    expect(tags['by-digest']!.lastPulledAt).toBe('');

    // The tag page and the image page (the admin API's GetTag and GetImage) say the same.
    const tag = await api<{ tag: { lastPulledAt: string }; manifest: ListedManifest }>('/-/tags/pulled');
    expect(tag.tag.lastPulledAt).toBe(tags.pulled!.lastPulledAt);
    expect(tag.manifest.lastPulledAt).toBe(tags.pulled!.manifest!.lastPulledAt);
    const never = await api<{ tag: { lastPulledAt: string } }>('/-/tags/never');
    expect(never.tag.lastPulledAt).toBe('');
    // The answers are the JSON API's exact shapes (no field missing, none extra).
    webApi.getTag.response.parse(tag);
    webApi.listTags.response.parse(await api('/-/tags?page_size=50'));
    const whole = await api<{ tags: ListedTag[]; manifests: ListedManifest[] }>('');
    webApi.getImage.response.parse(whole);
    expect(Object.fromEntries(whole.tags.map((t) => [t.tag, t.lastPulledAt !== '']))).toEqual({ pulled: true, never: false, 'by-digest': false });
    expect(Object.fromEntries(whole.manifests.map((m) => [m.digest, m.lastPulledAt !== '']))).toEqual({ [digests.pulled!]: true, [digests.never!]: false, [digests['by-digest']!]: false });
  });

  it('a pull by digest (crane) moves the manifest, not its tag; a HEAD by digest moves nothing', async () => {
    const headers = { Authorization: basicAuth(workspace.admin), Accept: 'application/vnd.docker.distribution.manifest.v2+json' };
    const head = await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/app/manifests/${digests.never}`, { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    await run('crane', ['manifest', '--insecure', `${image}@${digests['by-digest']}`]);
    const tags = await pollUntil(listedTags, (listed) => listed['by-digest']!.manifest!.lastPulledAt !== '', 15_000, 200);
    expect(tags['by-digest']!.lastPulledAt).toBe('');
    // The HEAD was before the crane pull, so the flush that brought the crane pull would have brought it.
    expect(tags.never!.manifest!.lastPulledAt).toBe('');
    expect(tags.never!.lastPulledAt).toBe('');
  });

  it('registryctl shows the times, "never" for what nobody pulled', async () => {
    const json = JSON.parse(await ctl('image', 'pulls', workspace.slug, 'app', '--json')) as { tags: Array<{ tag: string; lastPulledAt: string }> };
    const byTag = Object.fromEntries(json.tags.map((t) => [t.tag, t.lastPulledAt]));
    expect(byTag.pulled).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(byTag.never).toBe('');
    const table = await ctl('image', 'pulls', workspace.slug, 'app');
    expect(table).toMatch(/^TAG\s+DIGEST\s+PUSHED\s+LAST PULLED$/m);
    expect(table).toMatch(/^pulled\s+sha256:[a-f0-9]{12}\s+\S+\s+\d{4}-\d\d-\d\dT\S+ \(\d+ seconds? ago\)$/m);
    expect(table).toMatch(/^never\s+sha256:[a-f0-9]{12}\s+\S+\s+never$/m);
    const details = JSON.parse(await ctl('image', 'tag', workspace.slug, 'app', 'pulled')) as { tag: { lastPulledAt: string } };
    expect(details.tag.lastPulledAt).toBe(byTag.pulled);
  });
});
