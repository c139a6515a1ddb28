import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, type RunningRegistry, type UserToken } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, users } from '@ocireg/proto';
import { importRandomImage } from './images';
import { adminPortClient, basicAuth, dockerLogin, newWorkspace, recordSecret, run, startTestRegistry, tempDir, type TestWorkspace } from './helpers';
import { pollUntilEquals as eventually } from './polling';

describe('auth: scoped API tokens, docker token auth, token scope AND inherited role', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  const issued: string[] = [];

  const user = async (name: string, scopes: string[], role?: 'read' | 'write' | 'admin', expiresInSeconds?: number): Promise<UserToken> => {
    const created = await createUserWithToken(registry.adminAddress, { email: `${name}@${workspace.slug}.example.com`, scopes, sourceRepositoryId: workspace.sourceRepositoryId, role, expiresInSeconds }, registry.operator.authorization);
    issued.push(created.token);
    recordSecret(created.token);
    return created;
  };

  /** Pushes a small image as `pusher`; resolves to docker's output. */
  const pushAs = async (pusher: UserToken, image: string) => {
    await dockerLogin(registry, pusher);
    const reference = `${registry.registryHost}/${workspace.slug}/${image}:v1`;
    await importRandomImage(reference, 16 * 1024);
    return run('docker', ['push', reference], { withStderr: true });
  };

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await newWorkspace(registry);
    issued.push(workspace.admin.token);
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('answers 401 with a Bearer challenge the client can follow', async () => {
    const response = await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/app/manifests/v1`);
    expect(response.status).toBe(401);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="${registry.gatewayUrl}/v2/token",service="ocireg",scope="repository:${workspace.slug}/app:pull"`);
    expect(((await response.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNAUTHORIZED');
    expect((await fetch(`${registry.gatewayUrl}/v2/`)).status).toBe(401);
  });

  it('lets anonymous callers pull only where the workspace allows public pull', async () => {
    const writer = await user('public-writer', ['read:package', 'write:package'], 'write');
    await pushAs(writer, 'public-image');
    const anonymousToken = async () => {
      const response = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&scope=${encodeURIComponent(`repository:${workspace.slug}/public-image:pull,push`)}`);
      expect(response.status).toBe(200);
      return ((await response.json()) as { token: string }).token;
    };
    const manifest = async (token: string) => (await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/public-image/manifests/v1`, { method: 'HEAD', headers: { Authorization: `Bearer ${token}` } })).status;

    expect(await manifest(await anonymousToken())).toBe(401); // off by default

    const adminClient = adminPortClient(registry, admin.AdminServiceClient);
    await unaryCall(adminClient.updateWorkspaceSettings.bind(adminClient), { slug: workspace.slug, publicPull: true }, { authorization: registry.operator.authorization });
    try {
      const token = await anonymousToken();
      expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).access[0].actions).toEqual(['pull']);
      expect(await manifest(token)).toBe(200);
      const upload = await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/public-image/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
      expect(upload.status).toBe(401);
    } finally {
      await unaryCall(adminClient.updateWorkspaceSettings.bind(adminClient), { slug: workspace.slug, publicPull: false }, { authorization: registry.operator.authorization });
      adminClient.close();
    }
  });

  it('docker login refuses a wrong token and accepts the right one', async () => {
    const writer = await user('login', ['read:package', 'write:package'], 'write');
    await expect(dockerLogin(registry, { ...writer, token: `${writer.token.slice(0, -4)}AAAA` })).rejects.toThrow(/unauthorized|401/i);
    expect(await dockerLogin(registry, writer)).toMatch(/Login Succeeded/);
  });

  it('the token endpoint speaks GET + Basic with several scopes, and the OAuth2 POST form with refresh tokens', async () => {
    const writer = await user('endpoint', ['read:package', 'write:package'], 'write');
    const scopes = [`repository:${workspace.slug}/a:pull,push`, `repository:${workspace.slug}/b:pull`].map((s) => `scope=${encodeURIComponent(s)}`).join('&');
    const viaGet = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&${scopes}&offline_token=true&account=${encodeURIComponent(writer.email)}`, { headers: { Authorization: basicAuth(writer) } });
    expect(viaGet.status).toBe(200);
    const got = (await viaGet.json()) as { token: string; access_token: string; expires_in: number; issued_at: string; refresh_token: string };
    expect(got.access_token).toBe(got.token);
    expect(got.expires_in).toBeGreaterThanOrEqual(420);
    expect(got.refresh_token).toBeTruthy();
    const access = JSON.parse(Buffer.from(got.token.split('.')[1]!, 'base64url').toString()).access;
    expect(access).toEqual([
      { type: 'repository', name: `${workspace.slug}/a`, actions: ['pull', 'push'] },
      { type: 'repository', name: `${workspace.slug}/b`, actions: ['pull'] },
    ]);

    const form = (fields: Record<string, string>) => fetch(`${registry.gatewayUrl}/v2/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
    const viaPassword = await form({ grant_type: 'password', username: writer.email, password: writer.token, scope: `repository:${workspace.slug}/a:pull,push,delete`, service: 'ocireg', client_id: 'e2e', access_type: 'offline' });
    const password = (await viaPassword.json()) as { token: string; refresh_token: string };
    // Asking for delete is not an error: the grant is what a Write user's token allows.
    expect(JSON.parse(Buffer.from(password.token.split('.')[1]!, 'base64url').toString()).access[0].actions).toEqual(['pull', 'push', 'delete']);
    for (let i = 0; i < 2; i++) {
      const viaRefresh = await form({ grant_type: 'refresh_token', refresh_token: password.refresh_token, scope: `repository:${workspace.slug}/a:pull`, service: 'ocireg' });
      expect(viaRefresh.status).toBe(200);
    }
  });

  it('a read-only token cannot push, and docker says so', async () => {
    const reader = await user('readonly', ['read:package'], 'admin');
    await expect(pushAs(reader, 'readonly-image')).rejects.toThrow(/denied|unauthorized/i);
  });

  it('skopeo and crane get the same answers: a read-only token pulls but cannot push, a revoked one cannot even pull', async () => {
    const writer = await user('tools-writer', ['read:package', 'write:package'], 'write');
    const reference = `${registry.registryHost}/${workspace.slug}/tools-image:v1`;
    await pushAs(writer, 'tools-image');
    const reader = await user('tools-reader', ['read:package'], 'write');
    const creds = `${reader.email}:${reader.token}`;
    const target = `${registry.registryHost}/${workspace.slug}/tools-copy:v1`;

    // skopeo (GET token flow)
    expect(JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--creds', creds, `docker://${reference}`])).Layers.length).toBeGreaterThan(0);
    await expect(run('skopeo', ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds, '--dest-creds', creds, `docker://${reference}`, `docker://${target}`])).rejects.toThrow(/denied|unauthorized/i);

    // crane (OAuth2 POST flow), with its own credentials file
    const craneEnv = { DOCKER_CONFIG: tempDir('crane-config') };
    await run('crane', ['auth', 'login', registry.registryHost, '-u', reader.email, '-p', reader.token], { env: craneEnv });
    expect(await run('crane', ['digest', '--insecure', reference], { env: craneEnv })).toMatch(/^sha256:/);
    await expect(run('crane', ['copy', '--insecure', reference, target], { env: craneEnv })).rejects.toThrow(/DENIED|denied|UNAUTHORIZED|unauthorized/);

    const client = adminPortClient(registry, users.UserServiceClient);
    await unaryCall(client.revokeToken.bind(client), { tokenId: reader.tokenId }, { authorization: registry.operator.authorization });
    client.close();
    // Each command asks auth for a fresh token, which the revoked API token no longer gets.
    await expect(run('crane', ['digest', '--insecure', reference], { env: craneEnv })).rejects.toThrow(/UNAUTHORIZED|unauthorized|401/);
    await expect(run('skopeo', ['inspect', '--tls-verify=false', '--creds', creds, `docker://${reference}`])).rejects.toThrow(/unauthorized|401/i);
  });

  it('a Read member cannot push even with a write-scoped token', async () => {
    const reader = await user('member-read', ['read:package', 'write:package'], 'read');
    await expect(pushAs(reader, 'read-member-image')).rejects.toThrow(/denied|unauthorized/i);
  });

  it('a Write member pushes but cannot delete the manifest; an Admin can', async () => {
    const writer = await user('writer', ['read:package', 'write:package', 'admin:package'], 'write');
    const output = await pushAs(writer, 'deletable');
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(output)![1]!;
    const url = `${registry.gatewayUrl}/v2/${workspace.slug}/deletable/manifests/${digest}`;
    const denied = await fetch(url, { method: 'DELETE', headers: { Authorization: basicAuth(writer) } });
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DENIED');
    expect((await fetch(url, { method: 'DELETE', headers: { Authorization: basicAuth(workspace.admin) } })).status).toBe(202);
    expect((await fetch(url, { headers: { Authorization: basicAuth(workspace.admin) } })).status).toBe(404);
  });

  it('a revoked token fails on the next request, on a token already handed out', async () => {
    const writer = await user('revoked', ['read:package', 'write:package'], 'write');
    const tokenResponse = await fetch(`${registry.gatewayUrl}/v2/token?scope=${encodeURIComponent(`repository:${workspace.slug}/x:pull`)}`, { headers: { Authorization: basicAuth(writer) } });
    const { token } = (await tokenResponse.json()) as { token: string };
    const url = `${registry.gatewayUrl}/v2/${workspace.slug}/x/tags/list`;
    expect((await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).status).not.toBe(401);

    const client = adminPortClient(registry, users.UserServiceClient);
    await unaryCall(client.revokeToken.bind(client), { tokenId: writer.tokenId }, { authorization: registry.operator.authorization });
    client.close();
    expect(await eventually(async () => (await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).status, 401)).toBe(401);
    expect((await fetch(url, { headers: { Authorization: basicAuth(writer) } })).status).toBe(401);
  });

  it('removing a membership or moving a package stops access at once, even for tokens already handed out', async () => {
    const adminClient = adminPortClient(registry, admin.AdminServiceClient);
    try {
      const member = await user('moved', ['read:package', 'write:package'], 'write');
      await pushAs(member, 'movable');
      const bearer = async () => {
        const response = await fetch(`${registry.gatewayUrl}/v2/token?scope=${encodeURIComponent(`repository:${workspace.slug}/movable:pull`)}`, { headers: { Authorization: basicAuth(member) } });
        return `Bearer ${((await response.json()) as { token: string }).token}`;
      };
      const tags = (authorization: string) => fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/movable/tags/list`, { headers: { Authorization: authorization } });

      // Move the package to a repository the member has no role on.
      const before = await bearer();
      expect((await tags(before)).status).toBe(200);
      const { sourceRepository: other } = await unaryCall(adminClient.createSourceRepository.bind(adminClient), { requestId: '', workspaceSlug: workspace.slug, projectSlug: 'main', slug: `other-${Date.now()}`, name: '' }, { authorization: registry.operator.authorization });
      await unaryCall(adminClient.linkPackage.bind(adminClient), { workspaceSlug: workspace.slug, name: 'movable', sourceRepositoryId: other!.id, actorUserId: '' }, { authorization: registry.operator.authorization });
      expect(await eventually(async () => (await tags(before)).status, 401)).toBe(401);
      expect((await tags(await bearer())).status).toBe(401);

      // Link it back: access returns; then remove the membership: gone again.
      await unaryCall(adminClient.linkPackage.bind(adminClient), { workspaceSlug: workspace.slug, name: 'movable', sourceRepositoryId: workspace.sourceRepositoryId, actorUserId: '' }, { authorization: registry.operator.authorization });
      expect(await eventually(async () => (await tags(await bearer())).status, 200)).toBe(200);
      const again = await bearer();
      await unaryCall(adminClient.removeMembership.bind(adminClient), { sourceRepositoryId: workspace.sourceRepositoryId, userId: member.userId }, { authorization: registry.operator.authorization });
      expect(await eventually(async () => (await tags(again)).status, 401)).toBe(401);
      expect((await tags(basicAuth(member))).status).toBe(401);
    } finally {
      adminClient.close();
    }
  });

  it('an expired token fails', async () => {
    const shortLived = await user('expiring', ['read:package'], 'read', 2);
    const url = `${registry.gatewayUrl}/v2/`;
    expect((await fetch(url, { headers: { Authorization: basicAuth(shortLived) } })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // The Basic exchange is cached for a short while; a new token request shows the expiry.
    const response = await fetch(`${registry.gatewayUrl}/v2/token`, { headers: { Authorization: basicAuth(shortLived) } });
    expect(response.status).toBe(401);
  });

  it('rate-limits failed logins per account with 429 TOOMANYREQUESTS', async () => {
    const target = await user('bruteforced', ['read:package'], 'read');
    const attempt = () => fetch(`${registry.gatewayUrl}/v2/token`, { headers: { Authorization: `Basic ${Buffer.from(`${target.email}:wrong`).toString('base64')}` } });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await attempt()).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it('lists in the catalog only the repositories of workspaces the caller belongs to', async () => {
    const other = await newWorkspace(registry);
    issued.push(other.admin.token);
    await dockerLogin(registry, other.admin);
    const reference = `${registry.registryHost}/${other.slug}/cataloged:v1`;
    await importRandomImage(reference, 8 * 1024);
    await run('docker', ['push', reference]);
    await pushAs(workspace.admin, 'mine');

    const catalogOf = async (who: UserToken) =>
      ((await (await fetch(`${registry.gatewayUrl}/v2/_catalog`, { headers: { Authorization: basicAuth(who) } })).json()) as { repositories: string[] }).repositories;
    const theirs = await catalogOf(other.admin);
    expect(theirs).toContain(`${other.slug}/cataloged`);
    expect(theirs.some((name) => name.startsWith(`${workspace.slug}/`))).toBe(false);
    const mine = await catalogOf(workspace.admin);
    expect(mine).toContain(`${workspace.slug}/mine`);
    expect(mine.some((name) => name.startsWith(`${other.slug}/`))).toBe(false);
    expect((await fetch(`${registry.gatewayUrl}/v2/_catalog`)).status).toBe(401);
  });

  it('rotates the signing key without downtime: tokens of the retired key still verify, new ones use the new key', async () => {
    const reader = await user('rotation', ['read:package'], 'read');
    const tokenUrl = `${registry.gatewayUrl}/v2/token?scope=${encodeURIComponent(`repository:${workspace.slug}/rotation:pull`)}`;
    const fetchToken = async () => ((await (await fetch(tokenUrl, { headers: { Authorization: basicAuth(reader) } })).json()) as { token: string }).token;
    const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;
    const probe = (token: string) => fetch(`${registry.gatewayUrl}/v2/`, { headers: { Authorization: `Bearer ${token}` } });

    const first = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await registry.restart('auth', { AUTH_SIGNING_KEY: first.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() });
    const oldToken = await fetchToken();
    expect((await probe(oldToken)).status).toBe(200);

    const second = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await registry.restart('auth', {
      AUTH_SIGNING_KEY: second.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      AUTH_PREVIOUS_PUBLIC_KEYS: first.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    });
    const newToken = await fetchToken();
    expect(kidOf(newToken)).not.toBe(kidOf(oldToken));
    expect((await probe(newToken)).status).toBe(200); // the gateway fetched the new key on the unknown kid
    expect((await probe(oldToken)).status).toBe(200); // and still knows the retired one
  });

  it('never writes a token secret to the logs', async () => {
    const logs = (['gateway', 'auth', 'metadata', 'blob-upload', 'indexer'] as const).map((service) => readFileSync(registry.logFile(service), 'utf8')).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of issued) expect(logs).not.toContain(secret);
  });
});
