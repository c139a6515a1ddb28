import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, REPO_ROOT, type RunningRegistry, type UserToken } from '@ocireg/devstack';
import { webApi } from '@ocireg/web-api';
import { startContainerd } from './containerd';
import { importRandomImage } from './images';
import { pollUntil } from './polling';
import { basicAuth, newWorkspace, recordSecret, run, startTestRegistry, tempDir, type TestWorkspace } from './helpers';
import { startUpstreamRegistry, type UpstreamRegistry } from './upstream-registry';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
/** Tags are revalidated this often in these tests. */
const TTL_SECONDS = 3;
/** The layer 16 clients pull at once while it is not cached (the size). */
const LARGE_LAYER = 200 * 1024 * 1024;

describe('pull-through cache: a CNCF Distribution with htpasswd auth as the upstream', () => {
  let upstream: UpstreamRegistry;
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let reader: UserToken;
  let ctl: (args: string[], input?: string) => Promise<Record<string, any>>;
  const get = (name: string, what: string, headers: Record<string, string> = {}) =>
    fetch(`${registry.gatewayUrl}/v2/${name}/${what}`, { headers: { Authorization: basicAuth(reader), Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json', ...headers } });

  beforeAll(async () => {
    upstream = await startUpstreamRegistry(tempDir('upstream'));
    recordSecret(upstream.password);
    // The upstreams run on loopback, which an operator must allow.
    registry = await startTestRegistry({ UPSTREAM_TIMEOUT_SECONDS: '2', UPSTREAM_ALLOWED_CIDRS: '127.0.0.0/8', PULL_FLUSH_SECONDS: '1' });
    workspace = await newWorkspace(registry, 'proxy');
    reader = await createUserWithToken(
      registry.adminAddress,
      { email: `reader@${workspace.slug}.example.com`, scopes: ['read:package'], sourceRepositoryId: workspace.sourceRepositoryId, role: 'read' },
      registry.operator.authorization,
    );
    recordSecret(reader.token);
    ctl = async (args, input) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, ...args], input === undefined ? {} : { input }));
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    await upstream?.stop();
  });

  it('registryctl configures an upstream; its password is stored but never shown', async () => {
    const created = await ctl(
      ['upstream', 'create', workspace.slug, 'hub', upstream.url, '--repository', workspace.sourceRepositoryId, '--username', upstream.username, '--password-stdin', '--tag-ttl', String(TTL_SECONDS)],
      `${upstream.password}\n`,
    );
    expect(created.upstream).toMatchObject({ name: 'hub', url: upstream.url, username: upstream.username, hasPassword: true, tagTtlSeconds: TTL_SECONDS, sourceRepositoryId: workspace.sourceRepositoryId });
    const listed = await ctl(['upstream', 'list', workspace.slug]);
    expect(listed.upstreams.map((u: { name: string }) => u.name)).toEqual(['hub']);
    expect(JSON.stringify(listed)).not.toContain(upstream.password);
    // Only operators and workspace admins change upstreams.
    await expect(
      run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', reader.token, 'upstream', 'create', workspace.slug, 'other', upstream.url, '--repository', workspace.sourceRepositoryId]),
    ).rejects.toThrow(/DENIED|admin:package/);
  });

  it('the JSON API lists upstreams without their passwords; only workspace admins change them', async () => {
    const api = (user: UserToken, method: string, path: string, body?: unknown) =>
      fetch(`${registry.gatewayUrl}/api/v1/workspaces/${workspace.slug}/${path}`, {
        method,
        headers: { Authorization: basicAuth(user), 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const listed = await api(reader, 'GET', 'upstreams');
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toContain(upstream.password);
    expect(webApi.listUpstreams.response.parse(JSON.parse(text)).upstreams).toEqual([expect.objectContaining({ name: 'hub', hasPassword: true, url: upstream.url })]);
    const other = { name: 'ghcr', url: 'https://ghcr.example.test', sourceRepositoryId: workspace.sourceRepositoryId, namespaces: ['acme'] };
    expect((await api(reader, 'POST', 'upstreams', other)).status).toBe(403);
    // An Admin of a repository is not enough: workspace admins (and operators) manage upstreams.
    expect((await api(workspace.admin, 'POST', 'upstreams', other)).status).toBe(403);
    await ctl(['workspace', 'add-admin', workspace.slug, workspace.admin.email]);
    const created = await api(workspace.admin, 'POST', 'upstreams', other);
    expect(created.status).toBe(201);
    expect(webApi.createUpstream.response.parse(await created.json()).upstream).toMatchObject({ name: 'ghcr', hasPassword: false, namespaces: ['acme'], tagTtlSeconds: 300 });
    const bad = await api(workspace.admin, 'POST', 'upstreams', { ...other, name: 'bad', url: 'ftp://x' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: unknown[] }).errors[0]).toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'url' } });
    expect((await api(workspace.admin, 'DELETE', 'upstreams/ghcr')).status).toBe(200);
    expect((await api(workspace.admin, 'DELETE', 'upstreams/ghcr')).status).toBe(404);
  });

  it('docker pulls <workspace>/<upstream>/<repository> through the cache, into a package of the workspace', async () => {
    const source = `${upstream.host}/library/alpine:3`;
    await importRandomImage(source, 256 * 1024);
    await run('docker', ['login', upstream.host, '--username', upstream.username, '--password-stdin'], { input: upstream.password });
    await run('docker', ['push', source]);
    await run('docker', ['rmi', source]);

    await run('docker', ['login', registry.registryHost, '--username', reader.email, '--password-stdin'], { input: reader.token });
    const reference = `${registry.registryHost}/${workspace.slug}/hub/library/alpine:3`;
    expect(await run('docker', ['pull', reference])).toMatch(/Downloaded newer image|Pull complete/);
    const blobGets = upstream.accessLines(/"GET \/v2\/library\/alpine\/blobs\/sha256:[0-9a-f]+ HTTP\/1\.1" 200/).length;
    expect(blobGets).toBeGreaterThanOrEqual(2);
    const packages = await ctl(['package', 'list', workspace.slug]);
    expect(packages.packages).toContainEqual(expect.objectContaining({ name: 'hub/library/alpine', sourceRepositoryId: workspace.sourceRepositoryId }));

    // Pulled again: every blob from the cache; the upstream is asked about the tag at most.
    await run('docker', ['rmi', reference]);
    await run('docker', ['pull', reference]);
    expect(upstream.accessLines(/"GET \/v2\/library\/alpine\/blobs\/sha256:[0-9a-f]+ HTTP\/1\.1" 200/).length).toBe(blobGets);

    // Pulls through the cache are pulls (last-pulled times, docs/lifecycle.md): the tag and its manifest have a time.
    const pulls = await pollUntil(
      () => ctl(['image', 'pulls', workspace.slug, 'hub/library/alpine', '--json']).catch(() => ({ tags: [], manifests: [] })),
      (listed) => listed.tags.some((t: { tag: string; lastPulledAt: string }) => t.tag === '3' && t.lastPulledAt !== ''),
      15_000,
      250,
    );
    expect(pulls.manifests.every((m: { lastPulledAt: string }) => m.lastPulledAt !== '')).toBe(true);
  });

  it('serves a cached tag until its TTL passes, then sees the tag moved upstream', async () => {
    const first = await upstream.pushImage('library/moving', 'latest');
    const name = `${workspace.slug}/hub/library/moving`;
    const digestOf = async () => {
      const response = await get(name, 'manifests/latest');
      expect(response.status).toBe(200);
      const content = Buffer.from(await response.arrayBuffer());
      expect(`sha256:${createHash('sha256').update(content).digest('hex')}`).toBe(response.headers.get('docker-content-digest'));
      return response.headers.get('docker-content-digest');
    };
    expect(await digestOf()).toBe(first);
    const second = await upstream.pushImage('library/moving', 'latest');
    expect(second).not.toBe(first);
    // Within the TTL the cached tag is served without asking the upstream.
    const heads = () => upstream.accessLines(/"HEAD \/v2\/library\/moving\/manifests\/latest/).length;
    const headsBefore = heads();
    expect(await digestOf()).toBe(first);
    expect(heads()).toBe(headsBefore);
    await new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1000 + 200));
    expect(await digestOf()).toBe(second);
    expect(heads()).toBe(headsBefore + 1);
    // A digest is immutable: the old one is still served, from the cache.
    const gets = upstream.accessLines(/"GET \/v2\/library\/moving\/manifests\//).length;
    expect((await get(name, `manifests/${first}`)).status).toBe(200);
    expect(upstream.accessLines(/"GET \/v2\/library\/moving\/manifests\//).length).toBe(gets);
  });

  it('keeps serving a cached tag an immutable rule holds when the upstream moves it', async () => {
    const first = await upstream.pushImage('library/pinned', 'v1');
    const name = `${workspace.slug}/hub/library/pinned`;
    const digest = async () => {
      const response = await get(name, 'manifests/v1');
      expect(response.status).toBe(200);
      return response.headers.get('docker-content-digest');
    };
    expect(await digest()).toBe(first);
    const { rule } = await ctl(['immutable', 'create', workspace.slug, 'v*', '--package', 'hub/library/pinned']);
    try {
      const moved = await upstream.pushImage('library/pinned', 'v1');
      expect(moved).not.toBe(first);
      await new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1000 + 200));
      // Past the TTL the upstream answers with another digest; the rule keeps the cached one, served (not an error).
      const heads = upstream.accessLines(/"HEAD \/v2\/library\/pinned\/manifests\/v1/).length;
      expect(await digest()).toBe(first);
      expect(upstream.accessLines(/"HEAD \/v2\/library\/pinned\/manifests\/v1/).length).toBe(heads + 1);
      expect(readFileSync(registry.logFile('gateway'), 'utf8')).toContain('upstream moved an immutable tag; serving the cached one');
    } finally {
      await ctl(['immutable', 'delete', workspace.slug, rule.id]);
    }
  });

  it(`16 concurrent pulls of an uncached ${LARGE_LAYER >> 20} MiB layer: one upstream GET, streamed to all before it is complete, 16 correct digests`, async () => {
    const layer = await upstream.pushBlob('library/big', randomBytes(LARGE_LAYER));
    const name = `${workspace.slug}/hub/library/big`;
    const upstreamGets = () => upstream.accessLines(new RegExp(`"GET /v2/library/big/blobs/${layer.digest} HTTP/1\\.1" 200`)).length;
    let firstByteWhileUpstreamBusy: boolean | undefined;
    const pulls = Array.from({ length: 16 }, async (_, i) => {
      const response = await get(name, `blobs/${layer.digest}`);
      expect(response.status).toBe(200);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        // Distribution logs a request when it has sent the whole answer: none yet means the blob is still coming.
        if (size === 0 && i === 0) firstByteWhileUpstreamBusy = upstreamGets() === 0;
        hash.update(chunk);
        size += chunk.length;
      }
      return { digest: `sha256:${hash.digest('hex')}`, size };
    });
    const results = await Promise.all(pulls);
    expect(results).toEqual(Array.from({ length: 16 }, () => ({ digest: layer.digest, size: LARGE_LAYER })));
    expect(upstreamGets()).toBe(1);
    expect(firstByteWhileUpstreamBusy).toBe(true);
    // Committed: the next pull is the cache's alone.
    const again = await get(name, `blobs/${layer.digest}`, { Range: 'bytes=0-9' });
    expect(again.status).toBe(206);
    expect(upstreamGets()).toBe(1);
  }, 240_000);

  it('with the upstream stopped, cached tags still pull and uncached ones fail with a clear error', async () => {
    await upstream.pushImage('library/never-pulled', '1');
    await upstream.stop();
    try {
      await new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1000 + 200));
      const reference = `${registry.registryHost}/${workspace.slug}/hub/library/alpine:3`;
      await run('docker', ['rmi', reference]);
      expect(await run('docker', ['pull', reference])).toMatch(/Downloaded newer image|Pull complete/);
      const missing = await get(`${workspace.slug}/hub/library/never-pulled`, 'manifests/1');
      expect(missing.status).toBe(503);
      const body = (await missing.json()) as { errors: Array<{ code: string; message: string }> };
      expect(body.errors[0]).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/is not cached and .*hub could not be reached/) });
      // docker shows a 5xx by its status alone (the message above is in the body).
      await expect(run('docker', ['pull', `${registry.registryHost}/${workspace.slug}/hub/library/never-pulled:1`])).rejects.toThrow(/503 Service Unavailable/);
    } finally {
      await upstream.start();
    }
  }, 120_000);

  it('counts hits, misses, stale answers, upstream errors, bytes fetched and bytes saved per upstream', async () => {
    const text = await (await fetch(registry.metricsUrl('gateway'))).text();
    const value = (metric: string, labels: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${metric}{`) && labels.split(',').every((label) => l.includes(label)));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const upstreamLabel = `upstream="${workspace.slug}/hub"`;
    expect(value('proxy_cache_requests_total', `${upstreamLabel},kind="blob",result="miss"`)).toBeGreaterThanOrEqual(3);
    expect(value('proxy_cache_requests_total', `${upstreamLabel},kind="manifest",result="hit"`)).toBeGreaterThanOrEqual(1);
    expect(value('proxy_cache_requests_total', `${upstreamLabel},kind="manifest",result="stale"`)).toBeGreaterThanOrEqual(1);
    expect(value('proxy_upstream_errors_total', `${upstreamLabel},kind="unreachable"`)).toBeGreaterThanOrEqual(1);
    // The large layer was fetched once, though 16 clients pulled it.
    expect(value('proxy_upstream_bytes_total', upstreamLabel)).toBeGreaterThanOrEqual(LARGE_LAYER);
    expect(value('proxy_upstream_bytes_total', upstreamLabel)).toBeLessThan(2 * LARGE_LAYER);
    expect(value('proxy_cache_bytes_saved_total', upstreamLabel)).toBeGreaterThan(0);
    expect(value('proxy_upstream_latency_seconds_count', upstreamLabel)).toBeGreaterThan(0);
  });

  it('serves containerd as a transparent mirror of the upstream (hosts.toml, ?ns=), no prefix in the image name', async () => {
    const source = `${upstream.host}/library/mirrored:1`;
    await importRandomImage(source, 128 * 1024);
    const pushed = await run('docker', ['push', source]);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(pushed)![1]!;
    await run('docker', ['rmi', source]);
    await registry.restart('gateway', { UPSTREAM_MIRRORS: `docker.io=${workspace.slug}/hub` });

    const dir = tempDir('containerd');
    // docker.io itself is unreachable here: only the mirror can answer.
    mkdirSync(path.join(dir, 'hosts', 'docker.io'), { recursive: true });
    writeFileSync(path.join(dir, 'hosts', 'docker.io', 'hosts.toml'), ['server = "http://127.0.0.1:9"', '', `[host."${registry.gatewayUrl}"]`, '  capabilities = ["pull", "resolve"]', ''].join('\n'));
    const containerd = await startContainerd(dir);
    try {
      const ctr = (...args: string[]) => containerd.ctr('images', ...args);
      await ctr('pull', '--hosts-dir', path.join(dir, 'hosts'), '--snapshotter', 'native', '--user', `${reader.email}:${reader.token}`, 'docker.io/library/mirrored:1');
      expect((await ctr('ls')).split('\n').find((line) => line.startsWith('docker.io/library/mirrored:1'))).toContain(digest);
      // It was filled into the upstream's package of the workspace, as a prefixed pull would have.
      expect((await get(`${workspace.slug}/hub/library/mirrored`, 'manifests/1')).headers.get('docker-content-digest')).toBe(digest);
      expect(upstream.accessLines(/"GET \/v2\/library\/mirrored\/manifests\/1 HTTP\/1\.1" 200/)).toHaveLength(1);
    } finally {
      containerd.stop();
    }
  }, 120_000);

  it("never writes the upstream's password to a log", () => {
    const logDir = path.dirname(registry.logFile('gateway'));
    for (const file of readdirSync(logDir).filter((f) => f.endsWith('.log'))) {
      expect(readFileSync(path.join(logDir, file), 'utf8'), file).not.toContain(upstream.password);
    }
  });
});
