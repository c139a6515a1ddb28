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
const ALL = ['read:package', 'write:package', 'admin:package', 'admin:token'];

/**
 * Service accounts (docs/security.md): a workspace's admins create them, give
 * them roles like anyone (in that workspace only) and tokens; they push with
 * docker, have no password, and stop when deleted. Through the admin port,
 * registryctl, the JSON API and docker.
 */
describe('service accounts: non-person users of one workspace', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let other: TestWorkspace;
  let wsAdmin: UserToken;
  let otherAdmin: UserToken;
  let repoAdmin: UserToken;
  let adminClient: admin.AdminServiceClient;
  let userClient: users.UserServiceClient;
  const operator = () => ({ authorization: registry.operator.authorization });
  const bearer = (user: UserToken) => ({ authorization: `Bearer ${user.token}` });
  const basic = (username: string, secret: string) => `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}`;

  const person = async (email: string, sourceRepositoryId?: string, role?: 'admin') => {
    const created = await createUserWithToken(registry.adminAddress, { email, scopes: ALL, sourceRepositoryId, role, expiresInSeconds: 2 * 86_400 }, registry.operator.authorization);
    recordSecret(created.token);
    return created;
  };
  const createAccount = (as: { authorization: string }, workspaceSlug: string, name: string) => unaryCall(userClient.createServiceAccount.bind(userClient), { workspaceSlug, name, displayName: '' }, as);
  const tokenFor = async (as: { authorization: string }, userId: string, scopes = ['read:package', 'write:package']) => {
    const created = await unaryCall(userClient.createToken.bind(userClient), { userId, name: 'ci', expiresInSeconds: 3600, scopes }, as);
    recordSecret(created.secret);
    return created;
  };

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await newWorkspace(registry, 'sa');
    other = await newWorkspace(registry, 'sb');
    adminClient = adminPortClient(registry, admin.AdminServiceClient);
    userClient = adminPortClient(registry, users.UserServiceClient);
    wsAdmin = await person(`owner@${workspace.slug}.example.com`);
    await unaryCall(adminClient.addWorkspaceAdmin.bind(adminClient), { workspaceSlug: workspace.slug, userId: wsAdmin.userId }, operator());
    otherAdmin = await person(`owner@${other.slug}.example.com`);
    await unaryCall(adminClient.addWorkspaceAdmin.bind(adminClient), { workspaceSlug: other.slug, userId: otherAdmin.userId }, operator());
    repoAdmin = await person(`repo-admin@${workspace.slug}.example.com`, workspace.sourceRepositoryId, 'admin');
  });

  afterAll(async () => {
    adminClient?.close();
    userClient?.close();
    await registry?.stop();
  });

  it('a workspace admin creates one, gives it a role and a token, and docker pushes with it', async () => {
    const { serviceAccount } = await createAccount(bearer(wsAdmin), workspace.slug, 'deployer');
    expect(serviceAccount).toMatchObject({ name: 'deployer', workspaceSlug: workspace.slug, loginName: `deployer@${workspace.slug}.service-account.invalid`, createdBy: wsAdmin.userId });
    await expect(createAccount(bearer(wsAdmin), workspace.slug, 'deployer')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(createAccount(bearer(wsAdmin), workspace.slug, 'Not A Name')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // A role, like any user's, named by its login name.
    await unaryCall(adminClient.setMembership.bind(adminClient), { sourceRepositoryId: workspace.sourceRepositoryId, userId: serviceAccount!.loginName, role: admin.Role.ROLE_WRITE }, bearer(wsAdmin));
    const token = await tokenFor(bearer(wsAdmin), serviceAccount!.loginName);
    expect(token.token).toMatchObject({ userId: serviceAccount!.id, parentTokenId: wsAdmin.tokenId, createdBy: wsAdmin.userId });
    expect(await run('docker', ['login', registry.registryHost, '--username', serviceAccount!.loginName, '--password-stdin'], { input: token.secret, withStderr: true })).toMatch(/Login Succeeded/);
    const reference = `${registry.registryHost}/${workspace.slug}/deployed:v1`;
    await importRandomImage(reference, 8 * 1024);
    expect(await run('docker', ['push', reference], { withStderr: true })).toMatch(/digest: sha256:/);
    // registryctl lists it for the workspace's admin.
    const ctl = JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', wsAdmin.token, 'service-account', 'list', workspace.slug])) as { serviceAccounts: Array<{ name: string }> };
    expect(ctl.serviceAccounts.map((a) => a.name)).toEqual(['deployer']);
  });

  it('only the workspace\'s admins manage its service accounts and their tokens', async () => {
    await expect(createAccount(bearer(repoAdmin), workspace.slug, 'sneaky')).rejects.toMatchObject({ code: 'DENIED' });
    await expect(createAccount(bearer(otherAdmin), workspace.slug, 'sneaky')).rejects.toMatchObject({ code: 'DENIED' });
    await expect(unaryCall(userClient.listServiceAccounts.bind(userClient), { workspaceSlug: workspace.slug }, bearer(otherAdmin))).rejects.toMatchObject({ code: 'DENIED' });
    const { serviceAccount } = await createAccount(bearer(wsAdmin), workspace.slug, 'builder');
    // Another workspace's admin, or a repository Admin, cannot make, list or revoke its tokens: it does not exist for them.
    await expect(tokenFor(bearer(otherAdmin), serviceAccount!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(tokenFor(bearer(repoAdmin), serviceAccount!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const token = await tokenFor(bearer(wsAdmin), serviceAccount!.id, ['read:package']);
    await expect(unaryCall(userClient.listTokens.bind(userClient), { userId: serviceAccount!.id }, bearer(otherAdmin))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(unaryCall(userClient.revokeToken.bind(userClient), { tokenId: token.token!.id }, bearer(otherAdmin))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Bounded like any token: not beyond the maker's own.
    await expect(unaryCall(userClient.createToken.bind(userClient), { userId: serviceAccount!.id, name: 'long', expiresInSeconds: 3 * 86_400, scopes: ['read:package'] }, bearer(wsAdmin))).rejects.toMatchObject({ code: 'DENIED' });
    await unaryCall(userClient.revokeToken.bind(userClient), { tokenId: token.token!.id }, bearer(wsAdmin));
    const { tokens } = await unaryCall(userClient.listTokens.bind(userClient), { userId: serviceAccount!.id }, bearer(wsAdmin));
    expect(tokens[0]!.revokedAt).not.toBe('');
  });

  it('holds roles in its own workspace only, and has no password', async () => {
    const { serviceAccount } = await createAccount(bearer(wsAdmin), workspace.slug, 'confined');
    const login = serviceAccount!.loginName;
    // The other workspace's admin cannot give it a role there (its holders would gain power in that workspace).
    await expect(unaryCall(adminClient.setMembership.bind(adminClient), { sourceRepositoryId: other.sourceRepositoryId, userId: login, role: admin.Role.ROLE_READ }, bearer(otherAdmin))).rejects.toMatchObject({ code: 'DENIED' });
    await expect(unaryCall(adminClient.addWorkspaceAdmin.bind(adminClient), { workspaceSlug: other.slug, userId: login }, operator())).rejects.toMatchObject({ code: 'DENIED' });
    await expect(unaryCall(adminClient.setPackageGrant.bind(adminClient), { workspaceSlug: other.slug, name: 'anything', userId: login, role: admin.Role.ROLE_READ }, operator())).rejects.toMatchObject({ code: 'DENIED' });
    const json = await fetch(`${registry.gatewayUrl}/api/v1/repositories/${other.sourceRepositoryId}/members`, { method: 'PUT', headers: { Authorization: basic(otherAdmin.email, otherAdmin.token), 'Content-Type': 'application/json' }, body: JSON.stringify({ user: login, role: 'read' }) });
    expect(json.status).toBe(403);
    // No password, ever; and nobody may take its login name as an email.
    await expect(unaryCall(userClient.createPasswordLink.bind(userClient), { user: login, purpose: users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_RESET, expiresInSeconds: 0, workspaceSlug: '' }, operator())).rejects.toMatchObject({ code: 'DENIED' });
    await expect(unaryCall(userClient.createUser.bind(userClient), { email: `x@${other.slug}.service-account.invalid`, displayName: '' }, operator())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('deleting one stops its tokens at once', async () => {
    const { serviceAccount } = await createAccount(bearer(wsAdmin), workspace.slug, 'temporary');
    await unaryCall(adminClient.setMembership.bind(adminClient), { sourceRepositoryId: workspace.sourceRepositoryId, userId: serviceAccount!.id, role: admin.Role.ROLE_WRITE }, bearer(wsAdmin));
    const token = await tokenFor(bearer(wsAdmin), serviceAccount!.id);
    const push = new OciHttp(registry.gatewayUrl, basic(serviceAccount!.loginName, token.secret));
    await push.pushImage(`${workspace.slug}/temporary`, 'v1');
    await unaryCall(userClient.deleteServiceAccount.bind(userClient), { workspaceSlug: workspace.slug, serviceAccount: 'temporary' }, bearer(wsAdmin));
    await pollUntilEquals(async () => (await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/temporary/tags/list`, { headers: { Authorization: basic(serviceAccount!.loginName, token.secret) } })).status, 401, 5_000);
    await expect(tokenFor(bearer(wsAdmin), serviceAccount!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const { serviceAccounts } = await unaryCall(userClient.listServiceAccounts.bind(userClient), { workspaceSlug: workspace.slug }, bearer(wsAdmin));
    expect(serviceAccounts.map((a) => a.name)).not.toContain('temporary');
    // Both changes are in the workspace's audit log, read by its admin, with who made them.
    const audit = JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', wsAdmin.token, 'audit', 'list', '--workspace', workspace.slug, '--action', 'service-account.*', '--target', serviceAccount!.id])) as { entries: Array<{ action: string; actor: { userId: string }; after: Record<string, unknown> }> };
    expect(audit.entries.map((e) => e.action)).toEqual(['service-account.deleted', 'service-account.created']);
    expect(audit.entries.every((e) => e.actor.userId === wsAdmin.userId)).toBe(true);
    expect(audit.entries[0]!.after).toEqual({ revokedTokenIds: [token.token!.id] });
  });

  it('the JSON API creates, lists and deletes them and their tokens', async () => {
    const api = (method: string, suffix: string, body?: unknown, as = wsAdmin) =>
      fetch(`${registry.gatewayUrl}/api/v1/workspaces/${workspace.slug}/service-accounts${suffix}`, {
        method,
        headers: { Authorization: basic(as.email, as.token), 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const made = await api('POST', '', { name: 'from-json', displayName: 'JSON' });
    expect(made.status).toBe(201);
    const { serviceAccount } = (await made.json()) as { serviceAccount: { id: string; loginName: string } };
    expect((await api('GET', '', undefined, otherAdmin)).status).toBe(403);
    const token = await api('POST', `/${serviceAccount.id}/tokens`, { name: 'ci', scopes: ['read:package'], expiresInDays: 1 });
    expect(token.status).toBe(201);
    const created = (await token.json()) as { token: { id: string }; secret: string; dockerLogin: string };
    recordSecret(created.secret);
    expect(created.dockerLogin).toBe(`docker login --username ${serviceAccount.loginName} ${registry.registryHost}`);
    // Another workspace's path does not reach it.
    const elsewhere = await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${other.slug}/service-accounts/${serviceAccount.id}/tokens`, { headers: { Authorization: basic(otherAdmin.email, otherAdmin.token) } });
    expect(elsewhere.status).toBe(404);
    const listed = (await (await api('GET', `/${serviceAccount.id}/tokens`)).json()) as { tokens: Array<{ id: string }> };
    expect(listed.tokens.map((t) => t.id)).toEqual([created.token.id]);
    expect((await api('DELETE', `/${serviceAccount.id}/tokens/${created.token.id}`)).status).toBe(200);
    expect((await api('DELETE', `/${serviceAccount.id}`)).status).toBe(200);
    const after = (await (await api('GET', '')).json()) as { serviceAccounts: Array<{ id: string }> };
    expect(after.serviceAccounts.map((a) => a.id)).not.toContain(serviceAccount.id);
  });
});
