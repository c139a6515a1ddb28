import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, REPO_ROOT, type RunningRegistry, type UserToken } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, users } from '@ocireg/proto';
import { adminPortClient, newWorkspace, recordSecret, run, startTestRegistry, type TestWorkspace } from './helpers';
import { importRandomImage } from './images';
import { OciHttp } from './oci-http';
import { pollUntilEquals } from './polling';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
const USERNAME = 'repository-token';

/**
 * Repository tokens (docs/security.md): made by a source repository's
 * Admins, owned by the repository, acting only on the packages linked to it,
 * surviving their creator's removal, stopped by revocation; through the
 * admin port, registryctl, the JSON API and docker.
 */
describe('repository tokens: credentials of a source repository, not of a person', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let otherRepositoryId: string;
  let creator: UserToken;
  let writer: UserToken;
  let outsider: UserToken;
  let adminClient: admin.AdminServiceClient;
  let userClient: users.UserServiceClient;
  const operator = () => ({ authorization: registry.operator.authorization });
  const bearer = (user: UserToken) => ({ authorization: `Bearer ${user.token}` });
  const basic = (username: string, secret: string) => `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}`;

  const person = async (name: string, scopes: string[], sourceRepositoryId?: string, role?: 'read' | 'write' | 'admin') => {
    const created = await createUserWithToken(registry.adminAddress, { email: `${name}@${workspace.slug}.example.com`, scopes, sourceRepositoryId, role, expiresInSeconds: 2 * 86_400 }, registry.operator.authorization);
    recordSecret(created.token);
    return created;
  };
  const createToken = async (as: { authorization: string }, sourceRepositoryId: string, scopes: string[], name = 'ci') => {
    const created = await unaryCall(userClient.createRepositoryToken.bind(userClient), { sourceRepositoryId, name, expiresInSeconds: 3600, scopes }, as);
    recordSecret(created.secret);
    return created;
  };
  /** A registry token's grants for some scopes, logging in as a repository token. */
  const grants = async (secret: string, ...scopes: string[]) => {
    const query = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&');
    const response = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&${query}`, { headers: { Authorization: basic(USERNAME, secret) } });
    if (response.status !== 200) return response.status;
    const { token } = (await response.json()) as { token: string };
    return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { access: Array<{ name: string; actions: string[] }> }).access.map((a) => a.actions);
  };

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await newWorkspace(registry, 'rt');
    adminClient = adminPortClient(registry, admin.AdminServiceClient);
    userClient = adminPortClient(registry, users.UserServiceClient);
    const { sourceRepository } = await unaryCall(adminClient.createSourceRepository.bind(adminClient), { requestId: '', workspaceSlug: workspace.slug, projectSlug: 'main', slug: 'other', name: 'Other' }, operator());
    otherRepositoryId = sourceRepository!.id;
    for (const [name, sourceRepositoryId] of [['linked', workspace.sourceRepositoryId], ['elsewhere', otherRepositoryId]] as const) {
      await unaryCall(adminClient.createPackage.bind(adminClient), { requestId: '', workspaceSlug: workspace.slug, name, sourceRepositoryId, actorUserId: '' }, operator());
    }
    await unaryCall(adminClient.setMembership.bind(adminClient), { sourceRepositoryId: otherRepositoryId, userId: workspace.admin.userId, role: admin.Role.ROLE_WRITE }, operator());
    await new OciHttp(registry.gatewayUrl, basic(workspace.admin.email, workspace.admin.token)).pushImage(`${workspace.slug}/elsewhere`, 'v1');
    creator = await person('creator', ['read:package', 'write:package', 'admin:package', 'admin:token'], workspace.sourceRepositoryId, 'admin');
    writer = await person('writer', ['read:package', 'write:package', 'admin:package', 'admin:token'], workspace.sourceRepositoryId, 'write');
    outsider = await person('outsider', ['read:package', 'write:package', 'admin:package', 'admin:token']);
  });

  afterAll(async () => {
    adminClient?.close();
    userClient?.close();
    await registry?.stop();
  });

  it('an Admin makes one; docker logs in with it and pushes to the linked package, is refused elsewhere, and pulls', async () => {
    const created = await createToken(bearer(creator), workspace.sourceRepositoryId, ['read:package', 'write:package']);
    expect(created.token).toMatchObject({ sourceRepositoryId: workspace.sourceRepositoryId, userId: '', createdBy: creator.userId, parentTokenId: creator.tokenId, scopes: ['read:package', 'write:package'] });
    expect(await run('docker', ['login', registry.registryHost, '--username', USERNAME, '--password-stdin'], { input: created.secret, withStderr: true })).toMatch(/Login Succeeded/);
    const linked = `${registry.registryHost}/${workspace.slug}/linked:v1`;
    await importRandomImage(linked, 8 * 1024);
    expect(await run('docker', ['push', linked], { withStderr: true })).toMatch(/digest: sha256:/);
    const elsewhere = `${registry.registryHost}/${workspace.slug}/elsewhere:v2`;
    await importRandomImage(elsewhere, 8 * 1024);
    await expect(run('docker', ['push', elsewhere], { withStderr: true })).rejects.toThrow(/denied|unauthorized/i);
    // Not a package linked to it: the workspace creates packages on push, but not for a repository token.
    const fresh = `${registry.registryHost}/${workspace.slug}/fresh:v1`;
    await importRandomImage(fresh, 8 * 1024);
    await expect(run('docker', ['push', fresh], { withStderr: true })).rejects.toThrow(/denied|unauthorized/i);
    await run('docker', ['rmi', linked]);
    expect(await run('docker', ['pull', linked], { withStderr: true })).toMatch(/Downloaded newer image|Image is up to date/);
    // The grants say the same: push and pull (and tag deletion, as Write) where linked, nothing elsewhere.
    expect(await grants(created.secret, `repository:${workspace.slug}/linked:pull,push,delete`, `repository:${workspace.slug}/elsewhere:pull,push`)).toEqual([['pull', 'push', 'delete'], []]);
  });

  it('a read-only one pulls its packages and pushes nothing; a username other than repository-token is refused', async () => {
    const created = await createToken(bearer(creator), workspace.sourceRepositoryId, ['read:package'], 'pull-only');
    expect(await grants(created.secret, `repository:${workspace.slug}/linked:pull,push`)).toEqual([['pull']]);
    const wrongName = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&scope=${encodeURIComponent(`repository:${workspace.slug}/linked:pull`)}`, { headers: { Authorization: basic(creator.email, created.secret) } });
    expect(wrongName.status).toBe(401);
    expect(JSON.stringify(await wrongName.json())).toMatch(/--username repository-token/);
    // Not a person: the admin port and the JSON API refuse it.
    await expect(unaryCall(adminClient.listWorkspaces.bind(adminClient), { pageSize: 10, pageToken: '' }, { authorization: `Bearer ${created.secret}` })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await fetch(`${registry.gatewayUrl}/api/v1/workspaces`, { headers: { Authorization: `Bearer ${created.secret}` } })).status).toBe(401);
  });

  it('only the repository\'s Admins make and see them; other tokens are bounded like any token', async () => {
    await expect(createToken(bearer(writer), workspace.sourceRepositoryId, ['read:package'])).rejects.toMatchObject({ code: 'DENIED' });
    await expect(createToken(bearer(outsider), workspace.sourceRepositoryId, ['read:package'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(unaryCall(userClient.listRepositoryTokens.bind(userClient), { sourceRepositoryId: workspace.sourceRepositoryId }, bearer(writer))).rejects.toMatchObject({ code: 'DENIED' });
    await expect(createToken(bearer(creator), workspace.sourceRepositoryId, ['admin:package'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // Admin of app is not Admin of other.
    await expect(createToken(bearer(creator), otherRepositoryId, ['read:package'])).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A token without admin:token creates none; one never outlives its creator.
    const narrow = await person('narrow', ['read:package', 'write:package'], workspace.sourceRepositoryId, 'admin');
    await expect(createToken(bearer(narrow), workspace.sourceRepositoryId, ['read:package'])).rejects.toMatchObject({ code: 'DENIED' });
    await expect(unaryCall(userClient.createRepositoryToken.bind(userClient), { sourceRepositoryId: workspace.sourceRepositoryId, name: 'long', expiresInSeconds: 3 * 86_400, scopes: ['read:package'] }, bearer(creator))).rejects.toMatchObject({ code: 'DENIED' });
    const made = await createToken(bearer(creator), workspace.sourceRepositoryId, ['read:package'], 'listed');
    // Revoking needs the same: a Writer's attempt answers as if the token did not exist.
    await expect(unaryCall(userClient.revokeToken.bind(userClient), { tokenId: made.token!.id }, bearer(writer))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const { tokens } = await unaryCall(userClient.listRepositoryTokens.bind(userClient), { sourceRepositoryId: workspace.sourceRepositoryId }, bearer(creator));
    expect(tokens.find((t) => t.id === made.token!.id)).toMatchObject({ name: 'listed', revokedAt: '' });
    // A repository's tokens are not its creator's tokens.
    const own = await unaryCall(userClient.listTokens.bind(userClient), { userId: creator.userId }, bearer(creator));
    expect(own.tokens.map((t) => t.id)).not.toContain(made.token!.id);
  });

  it('keeps working after its creator is removed from the workspace, and stops when revoked', async () => {
    const leaving = await person('leaving', ['read:package', 'write:package', 'admin:package', 'admin:token'], workspace.sourceRepositoryId, 'admin');
    const created = await createToken(bearer(leaving), workspace.sourceRepositoryId, ['read:package', 'write:package'], 'survives');
    await unaryCall(adminClient.removeMembership.bind(adminClient), { sourceRepositoryId: workspace.sourceRepositoryId, userId: leaving.userId }, bearer(creator));
    const push = new OciHttp(registry.gatewayUrl, basic(USERNAME, created.secret));
    await push.pushImage(`${workspace.slug}/linked`, 'after-leaving');
    // The repository's other Admin revokes it (registryctl), and it stops on the gateway within a second.
    const ctl = async (...args: string[]) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', creator.token, ...args])) as Record<string, any>;
    const listed = await ctl('repository', 'token', 'list', workspace.sourceRepositoryId);
    expect((listed.tokens as Array<{ id: string; createdBy: string }>).find((t) => t.id === created.token!.id)).toMatchObject({ createdBy: leaving.userId });
    await ctl('repository', 'token', 'revoke', created.token!.id);
    await pollUntilEquals(async () => (await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/linked/tags/list`, { headers: { Authorization: basic(USERNAME, created.secret) } })).status, 401, 5_000);
    expect(await grants(created.secret, `repository:${workspace.slug}/linked:pull`)).toBe(401);
  });

  it('the JSON API lists, creates (secret once, with the docker login line) and revokes them', async () => {
    const api = (method: string, suffix: string, body?: unknown) =>
      fetch(`${registry.gatewayUrl}/api/v1/repositories/${workspace.sourceRepositoryId}/tokens${suffix}`, {
        method,
        headers: { Authorization: `Basic ${Buffer.from(`${creator.email}:${creator.token}`).toString('base64')}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const made = await api('POST', '', { name: 'from-json', write: true, expiresInDays: 1 });
    expect(made.status).toBe(201);
    const created = (await made.json()) as { token: { id: string; scopes: string[] }; secret: string; dockerLogin: string };
    recordSecret(created.secret);
    expect(created.dockerLogin).toBe(`docker login --username repository-token ${registry.registryHost}`);
    expect(created.token.scopes).toEqual(['read:package', 'write:package']);
    const listed = (await (await api('GET', '')).json()) as { tokens: Array<{ id: string; createdBy: string; revokedAt: string }> };
    expect(listed.tokens.find((t) => t.id === created.token.id)).toMatchObject({ createdBy: creator.email, revokedAt: '' });
    expect((await api('POST', '', { name: 'x', expiresInDays: 0 })).status).toBe(400);
    expect((await api('DELETE', '/0123456789abcdef')).status).toBe(404);
    expect((await api('DELETE', `/${created.token.id}`)).status).toBe(200);
    const after = (await (await api('GET', '')).json()) as { tokens: Array<{ id: string; revokedAt: string }> };
    expect(after.tokens.find((t) => t.id === created.token.id)?.revokedAt).not.toBe('');
  });
});
