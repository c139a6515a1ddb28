import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, REPO_ROOT, type RunningRegistry, type UserToken } from '@ocireg/devstack';
import { freePort } from '@ocireg/testenv';
import { startContainerd } from './containerd';
import { startOwnDockerd, type OwnDockerd } from './dockerd';
import { importRandomImage } from './images';
import { basicAuth, newWorkspace, recordSecret, run, startTestRegistry, tempDir, type TestWorkspace } from './helpers';
import { startUpstreamRegistry, type UpstreamRegistry } from './upstream-registry';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
/** The key dockerd's CLI keeps docker.io's credentials under, and hands the daemon for every docker.io pull (and so to its mirrors). */
const DOCKER_IO_AUTH_KEY = 'https://index.docker.io/v1/';

/**
 * dockerd's `registry-mirrors` and containerd by prefix through the cache
 * (docs/pull-through.md). docker.io is unreachable here: only the mirror answers.
 */
describe('pull-through cache: dockerd registry-mirrors (a mirror host of its own) and containerd by prefix', () => {
  let upstream: UpstreamRegistry;
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let reader: UserToken;
  let dockerd: OwnDockerd;
  /** The mirror's own host name: the gateway's port on `localhost`, where the registry is 127.0.0.1. */
  let mirrorHost: string;
  const imageDigests = new Map<string, string>();

  /** An image in the upstream at `library/<name>:<tag>`, pushed by the shared dockerd; returns its manifest digest. */
  const pushToUpstream = async (name: string, tag: string, size: number) => {
    const source = `${upstream.host}/library/${name}:${tag}`;
    await importRandomImage(source, size);
    const pushed = await run('docker', ['push', source]);
    await run('docker', ['rmi', source]);
    return /digest: (sha256:[a-f0-9]{64})/.exec(pushed)![1]!;
  };
  const upstreamGets = (name: string, what: 'manifests' | 'blobs') => upstream.accessLines(new RegExp(`"GET /v2/library/${name}/${what}/[^ ]+ HTTP/1\\.1" 200`)).length;

  beforeAll(async () => {
    upstream = await startUpstreamRegistry(tempDir('upstream'));
    recordSecret(upstream.password);
    const gatewayPort = await freePort();
    mirrorHost = `localhost:${gatewayPort}`;
    // PUBLIC_URL names the registry's host: the mirror host's token realm must still be its own.
    registry = await startTestRegistry({ UPSTREAM_ALLOWED_CIDRS: '127.0.0.0/8', PUBLIC_URL: `http://127.0.0.1:${gatewayPort}` }, { gatewayPort });
    workspace = await newWorkspace(registry, 'mirror');
    reader = await createUserWithToken(
      registry.adminAddress,
      { email: `reader@${workspace.slug}.example.com`, scopes: ['read:package'], sourceRepositoryId: workspace.sourceRepositoryId, role: 'read' },
      registry.operator.authorization,
    );
    recordSecret(reader.token);
    await run(
      process.execPath,
      [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, 'upstream', 'create', workspace.slug, 'hub', upstream.url, '--repository', workspace.sourceRepositoryId, '--username', upstream.username, '--password-stdin'],
      { input: `${upstream.password}\n` },
    );
    await registry.restart('gateway', { UPSTREAM_MIRROR_HOSTS: `${mirrorHost}=${workspace.slug}/hub` });

    await run('docker', ['login', upstream.host, '--username', upstream.username, '--password-stdin'], { input: upstream.password });
    imageDigests.set('anon', await pushToUpstream('anon', '1', 64 * 1024));
    imageDigests.set('mirrored', await pushToUpstream('mirrored', '1', 2 * 1024 * 1024));
    imageDigests.set('by-prefix', await pushToUpstream('by-prefix', '1', 256 * 1024));

    dockerd = await startOwnDockerd(tempDir('dockerd-mirror'), { 'registry-mirrors': [`http://${mirrorHost}`] });
  }, 240_000);

  afterAll(async () => {
    await dockerd?.stop();
    await registry?.stop();
    await upstream?.stop();
  });

  it('the mirror host answers the ping with a challenge whose realm is itself, and serves pulls only', async () => {
    const ping = await fetch(`http://${mirrorHost}/v2/`);
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer realm="http://${mirrorHost}/v2/token"`));
    // The registry's own host keeps PUBLIC_URL's realm.
    expect((await fetch(`${registry.gatewayUrl}/v2/`)).headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer realm="http://127\\.0\\.0\\.1:\\d+/v2/token"`));

    // dockerd asks for the name it pulls; the token grants the mirrored package, for pulling only.
    const token = await fetch(`http://${mirrorHost}/v2/token?service=ocireg&scope=repository:library/mirrored:pull,push&scope=registry:catalog:*`, { headers: { Authorization: basicAuth(reader) } });
    expect(token.status).toBe(200);
    const jwt = ((await token.json()) as { token: string }).token;
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { access: Array<{ type: string; name: string; actions: string[] }> };
    expect(claims.access).toEqual([{ type: 'repository', name: `${workspace.slug}/hub/library/mirrored`, actions: ['pull'] }]);

    const upload = await fetch(`http://${mirrorHost}/v2/library/mirrored/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${jwt}` } });
    expect(upload.status).toBe(405);
    expect(((await upload.json()) as { errors: Array<{ code: string; message: string }> }).errors[0]).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining(`pull-only mirror of ${workspace.slug}/hub`) });
    expect((await fetch(`http://${mirrorHost}/v2/_catalog`, { headers: { Authorization: `Bearer ${jwt}` } })).status).toBe(405);
  });

  it('without docker.io credentials, dockerd gets nothing fetched from the upstream', async () => {
    await expect(dockerd.docker(['pull', 'anon:1'])).rejects.toThrow(/failed/);
    // dockerd asked the mirror, and was refused...
    expect(readFileSync(registry.logFile('gateway'), 'utf8')).toMatch(/"path":"\/v2\/library\/anon\/manifests\/1","status":401/);
    // ...and its push is all the upstream saw of it.
    expect(upstreamGets('anon', 'manifests') + upstreamGets('anon', 'blobs')).toBe(0);
    expect(upstream.accessLines(/"(GET|HEAD) \/v2\/library\/anon\/manifests\//)).toEqual([]);
  }, 180_000);

  it('docker pull <docker.io name> through registry-mirrors fills the upstream package of the workspace, once', async () => {
    // dockerd hands a mirror the credentials of docker.io (moby/moby#30880): the CLI's entry for it.
    // (`docker login` would check them against Docker Hub, so they are written as an operator would.)
    writeFileSync(path.join(dockerd.configDir, 'config.json'), JSON.stringify({ auths: { [DOCKER_IO_AUTH_KEY]: { auth: Buffer.from(`${reader.email}:${reader.token}`).toString('base64') } } }));
    const digest = imageDigests.get('mirrored')!;
    expect(await dockerd.docker(['pull', 'mirrored:1'])).toContain(digest);
    expect(await dockerd.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', 'mirrored:1'])).toContain(`mirrored@${digest}`);
    expect(upstreamGets('mirrored', 'manifests')).toBe(1);
    const blobGets = upstreamGets('mirrored', 'blobs');
    expect(blobGets).toBe(2); // the config and the one layer

    // It is the workspace's package hub/library/mirrored, as a pull by prefix would have made it.
    const byPrefix = await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/hub/library/mirrored/manifests/1`, {
      method: 'HEAD',
      headers: { Authorization: basicAuth(reader), Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
    });
    expect(byPrefix.headers.get('docker-content-digest')).toBe(digest);

    // Pulled again: every blob from the cache.
    await dockerd.docker(['rmi', 'mirrored:1']);
    await dockerd.docker(['pull', 'mirrored:1']);
    expect(upstreamGets('mirrored', 'blobs')).toBe(blobGets);
    expect(upstreamGets('mirrored', 'manifests')).toBe(1);
  }, 180_000);

  it('ctr pulls <registry>/<workspace>/hub/library/<name>:<tag> through the cache: the right digest, one upstream GET', async () => {
    const dir = tempDir('containerd-prefix');
    const containerd = await startContainerd(dir);
    try {
      const reference = `${registry.registryHost}/${workspace.slug}/hub/library/by-prefix:1`;
      await containerd.ctr('images', 'pull', '--plain-http', '--snapshotter', 'native', '--user', `${reader.email}:${reader.token}`, reference);
      expect((await containerd.ctr('images', 'ls')).split('\n').find((line) => line.startsWith(reference))).toContain(imageDigests.get('by-prefix')!);
      expect(upstreamGets('by-prefix', 'manifests')).toBe(1);
      const blobGets = upstreamGets('by-prefix', 'blobs');
      expect(blobGets).toBe(2);
      // Pulled again after removing it: nothing more from the upstream.
      await containerd.ctr('images', 'rm', '--sync', reference);
      await containerd.ctr('content', 'prune', 'references');
      await containerd.ctr('images', 'pull', '--plain-http', '--snapshotter', 'native', '--user', `${reader.email}:${reader.token}`, reference);
      expect(upstreamGets('by-prefix', 'blobs')).toBe(blobGets);
      expect(upstreamGets('by-prefix', 'manifests')).toBe(1);
    } finally {
      containerd.stop();
    }
  }, 180_000);
});
