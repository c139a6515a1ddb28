import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, REPO_ROOT, type RunningRegistry, type UserToken } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, users } from '@ocireg/proto';
import { startOidcProvider, type StartedOidcProvider } from '@ocireg/testenv';
import { adminPortClient, dockerLogin, newWorkspace, recordSecret, run, startTestRegistry, type TestWorkspace } from './helpers';
import { importRandomImage } from './images';
import { OciHttp } from './oci-http';
import { claimsOf, mintIdToken, StaticIssuer, type OidcClient } from './oidc';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
const AUDIENCE = 'ocireg-e2e';
const REDIRECT = 'http://127.0.0.1/ci-callback';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/**
 * CI workload identity (docs/security.md): a workspace admin trusts an OIDC
 * issuer and maps its repository claim to a source repository; a job logs in
 * with an ID token the real provider (oidc-provider, standalone) minted for
 * repository main/app, and pushes to the packages linked to main/app only,
 * pulls what the mapping allows, for at most 15 minutes; every bad token is
 * a 401 that says why.
 */
describe('CI workload identity: docker login with a job\'s OIDC ID token', () => {
  let registry: RunningRegistry;
  let provider: StartedOidcProvider;
  let shortLived: StartedOidcProvider;
  let staticIssuer: StaticIssuer;
  let workspace: TestWorkspace;
  let wsAdmin: UserToken;
  let userClient: users.UserServiceClient;
  const job = { username: 'job-main-app', password: 'runner-secret' };
  const ciClient: OidcClient = { clientId: AUDIENCE, clientSecret: 'ci-client-secret', redirectUri: REDIRECT };
  const otherAudience: OidcClient = { clientId: 'somebody-else', clientSecret: 'other-secret', redirectUri: REDIRECT };
  const accounts = [
    { sub: 'repo:main/app:ref:refs/heads/main', username: job.username, password: job.password, claims: { repository: 'main/app', ref: 'refs/heads/main' } },
    { sub: 'repo:main/unmapped', username: 'job-unmapped', password: 'runner-secret', claims: { repository: 'main/unmapped', ref: 'refs/heads/main' } },
  ];
  const idToken = async (client = ciClient, from = provider, account = job) => {
    const token = await mintIdToken(from.issuer, client, account);
    recordSecret(token);
    return token;
  };
  const exchange = (subjectToken: string, scope: string) =>
    fetch(`${registry.gatewayUrl}/v2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: ID_TOKEN_TYPE, scope, service: 'ocireg' }),
    });
  const refusal = async (response: Response) => ({ status: response.status, message: ((await response.json()) as { errors: Array<{ message: string }> }).errors[0]!.message });
  const ctl = async (as: UserToken, ...args: string[]) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', as.token, ...args])) as Record<string, any>;

  beforeAll(async () => {
    provider = await startOidcProvider({ clients: [ciClient, otherAudience].map((c) => ({ clientId: c.clientId, clientSecret: c.clientSecret, redirectUris: [REDIRECT] })), accounts });
    shortLived = await startOidcProvider({ clients: [{ clientId: AUDIENCE, clientSecret: ciClient.clientSecret, redirectUris: [REDIRECT], idTokenSeconds: 1 }], accounts });
    staticIssuer = new StaticIssuer();
    await staticIssuer.start();
    registry = await startTestRegistry({ CI_ID_TOKEN_AUDIENCE: AUDIENCE, LOGIN_FAILURE_LIMIT: '50' }) // every refusal below counts against the failed-login limit of "oidc" from 127.0.0.1;
    workspace = await newWorkspace(registry, 'ci');
    userClient = adminPortClient(registry, users.UserServiceClient);
    const adminClient = adminPortClient(registry, admin.AdminServiceClient);
    const operator = { authorization: registry.operator.authorization };
    try {
      for (const slug of ['lib', 'other']) {
        const { sourceRepository } = await unaryCall(adminClient.createSourceRepository.bind(adminClient), { requestId: '', workspaceSlug: workspace.slug, projectSlug: 'main', slug, name: slug }, operator);
        await unaryCall(adminClient.createPackage.bind(adminClient), { requestId: '', workspaceSlug: workspace.slug, name: slug, sourceRepositoryId: sourceRepository!.id, actorUserId: '' }, operator);
        await unaryCall(adminClient.setMembership.bind(adminClient), { sourceRepositoryId: sourceRepository!.id, userId: workspace.admin.userId, role: admin.Role.ROLE_WRITE }, operator);
      }
      await unaryCall(adminClient.createPackage.bind(adminClient), { requestId: '', workspaceSlug: workspace.slug, name: 'app', sourceRepositoryId: workspace.sourceRepositoryId, actorUserId: '' }, operator);
      wsAdmin = await createUserWithToken(registry.adminAddress, { email: `owner@${workspace.slug}.example.com`, scopes: ['read:package', 'write:package', 'admin:package', 'admin:token'], expiresInSeconds: 86_400 }, registry.operator.authorization);
      recordSecret(wsAdmin.token);
      await unaryCall(adminClient.addWorkspaceAdmin.bind(adminClient), { workspaceSlug: workspace.slug, userId: wsAdmin.userId }, operator);
    } finally {
      adminClient.close();
    }
    // Content to pull: an image in lib (the mapping lets the job pull it), pushed with docker by a Writer there.
    await dockerLogin(registry, workspace.admin);
    const lib = `${registry.registryHost}/${workspace.slug}/lib:v1`;
    await importRandomImage(lib, 8 * 1024);
    await run('docker', ['push', lib]);
    await run('docker', ['rmi', lib]);
    await new OciHttp(registry.gatewayUrl, `Basic ${Buffer.from(`${workspace.admin.email}:${workspace.admin.token}`).toString('base64')}`).pushImage(`${workspace.slug}/other`, 'v1');
    // The workspace admin trusts the provider: its jobs' repository claim main/app is source repository main/app, and may pull main/lib.
    await ctl(wsAdmin, 'trusted-issuer', 'create', workspace.slug, 'test-provider', '--kind', 'custom', '--issuer', provider.issuer, '--claim', 'repository', '--map', 'main/app=main/app+main/lib');
  });

  afterAll(async () => {
    userClient?.close();
    await registry?.stop();
    await provider?.stop();
    await shortLived?.stop();
    await staticIssuer?.stop();
  });

  it('docker login --username oidc with the job\'s ID token pushes to main/app\'s package, is refused elsewhere, and pulls what the mapping allows', async () => {
    const token = await idToken();
    expect(claimsOf(token)).toMatchObject({ iss: provider.issuer, aud: AUDIENCE, repository: 'main/app', jti: expect.any(String) });
    expect(await run('docker', ['login', registry.registryHost, '--username', 'oidc', '--password-stdin'], { input: token, withStderr: true })).toMatch(/Login Succeeded/);
    // The login is audited with the claims that granted it (a credential event, in auth's log).
    const logins = readFileSync(registry.logFile('auth'), 'utf8').split('\n').filter((line) => line.includes('"kind":"ci.login"') && line.includes(String(claimsOf(token).jti)));
    expect(logins).toHaveLength(1);
    expect(JSON.parse(logins[0]!).credentialEvent).toMatchObject({ workspace: workspace.slug, sourceRepositoryId: workspace.sourceRepositoryId, claims: { iss: provider.issuer, aud: AUDIENCE, repository: 'main/app', sub: accounts[0]!.sub } });
    expect(logins[0]).not.toContain(token.split('.')[2]!);
    const app = `${registry.registryHost}/${workspace.slug}/app:ci`;
    await importRandomImage(app, 8 * 1024);
    expect(await run('docker', ['push', app], { withStderr: true })).toMatch(/digest: sha256:/);
    const other = `${registry.registryHost}/${workspace.slug}/other:ci`;
    await importRandomImage(other, 8 * 1024);
    await expect(run('docker', ['push', other], { withStderr: true })).rejects.toThrow(/denied|unauthorized/i);
    const lib = `${registry.registryHost}/${workspace.slug}/lib:v1`;
    expect(await run('docker', ['pull', lib], { withStderr: true })).toMatch(/Downloaded newer image|Image is up to date/);
    await run('docker', ['tag', lib, `${registry.registryHost}/${workspace.slug}/lib:ci`]);
    await expect(run('docker', ['push', `${registry.registryHost}/${workspace.slug}/lib:ci`], { withStderr: true })).rejects.toThrow(/denied|unauthorized/i);
  });

  it('the token exchange endpoint grants at most 15 minutes of push and pull on main/app (no deletion), once per ID token', async () => {
    const token = await idToken();
    const scope = `repository:${workspace.slug}/app:pull,push,delete repository:${workspace.slug}/lib:pull,push repository:${workspace.slug}/other:pull`;
    const exchanged = await exchange(token, scope);
    expect(exchanged.status).toBe(200);
    const body = (await exchanged.json()) as { access_token: string; expires_in: number; issued_token_type: string };
    expect(body.expires_in).toBeLessThanOrEqual(900);
    expect(body.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token');
    const claims = claimsOf(body.access_token) as { exp: number; iat: number; access: Array<{ name: string; actions: string[] }> };
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(900);
    expect(claims.access.map((a) => a.actions)).toEqual([['pull', 'push'], ['pull'], []]);
    // The registry token works on /v2.
    const tags = await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/lib/tags/list`, { headers: { Authorization: `Bearer ${body.access_token}` } });
    expect(tags.status).toBe(200);
    // The same ID token again: a replay.
    expect(await refusal(await exchange(token, scope))).toMatchObject({ status: 401, message: expect.stringMatching(/used already/) });
  });

  it('refuses a wrong audience, an unknown issuer, an expired token, one not valid yet and an unmapped repository, each with a 401 that says so', async () => {
    const scope = `repository:${workspace.slug}/app:pull,push`;
    expect(await refusal(await exchange(await idToken(otherAudience), scope))).toMatchObject({ status: 401, message: expect.stringMatching(/audience must be ocireg-e2e/) });
    // Not trusted by any workspace yet.
    expect(await refusal(await exchange(await idToken(ciClient, shortLived), scope))).toMatchObject({ status: 401, message: expect.stringMatching(/is not trusted by any workspace/) });
    await ctl(wsAdmin, 'trusted-issuer', 'create', workspace.slug, 'short-lived', '--issuer', shortLived.issuer, '--claim', 'repository', '--map', 'main/app=main/app');
    const expiring = await idToken(ciClient, shortLived);
    await new Promise((resolve) => setTimeout(resolve, 7_500)); // its 1 s, and the 5 s of leeway for clocks
    expect(await refusal(await exchange(expiring, scope))).toMatchObject({ status: 401, message: expect.stringMatching(/expired at/) });
    // Any issuer by URL and JWKS: one whose token is not valid yet.
    await ctl(wsAdmin, 'trusted-issuer', 'create', workspace.slug, 'static', '--issuer', staticIssuer.url, '--jwks', `${staticIssuer.url}/jwks`, '--claim', 'repository', '--map', 'main/app=main/app');
    const now = Math.floor(Date.now() / 1000);
    const early = staticIssuer.sign({ aud: AUDIENCE, sub: 'job', repository: 'main/app', iat: now, nbf: now + 600, exp: now + 900 });
    recordSecret(early);
    expect(await refusal(await exchange(early, scope))).toMatchObject({ status: 401, message: expect.stringMatching(/not valid before/) });
    // The same issuer's valid token works, so the refusal was the nbf.
    const valid = staticIssuer.sign({ aud: AUDIENCE, sub: 'job', repository: 'main/app', iat: now, exp: now + 300 });
    recordSecret(valid);
    expect((await exchange(valid, scope)).status).toBe(200);
    // Signed by a key the issuer does not publish.
    const forged = `${valid.split('.').slice(0, 2).join('.')}.${Buffer.from('not a signature').toString('base64url')}`;
    expect(await refusal(await exchange(forged, scope))).toMatchObject({ status: 401, message: expect.stringMatching(/signature/) });
    expect(await refusal(await exchange(await idToken(ciClient, provider, { username: 'job-unmapped', password: 'runner-secret' }), scope))).toMatchObject({ status: 401, message: expect.stringMatching(/maps repository=main\/unmapped/) });
    expect(await refusal(await exchange('not-a-jwt', scope))).toMatchObject({ status: 401, message: expect.stringMatching(/not a JWT/) });
  });

  it('docker login with a bad ID token fails, and says why; a used one is a replay there too', async () => {
    await expect(run('docker', ['login', registry.registryHost, '--username', 'oidc', '--password-stdin'], { input: await idToken(otherAudience), withStderr: true })).rejects.toThrow(/401|unauthorized/i);
    const used = await idToken();
    expect((await exchange(used, `repository:${workspace.slug}/app:pull`)).status).toBe(200);
    await expect(run('docker', ['login', registry.registryHost, '--username', 'oidc', '--password-stdin'], { input: used, withStderr: true })).rejects.toThrow(/401|unauthorized/i);
    // The token endpoint's Basic form (what docker login calls) says why.
    const basic = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&scope=${encodeURIComponent(`repository:${workspace.slug}/app:pull`)}`, { headers: { Authorization: `Basic ${Buffer.from(`oidc:${used}`).toString('base64')}` } });
    expect(await refusal(basic)).toMatchObject({ status: 401, message: expect.stringMatching(/used already/) });
  });

  it('only workspace admins manage trusted issuers; the JSON API lists them; removing one ends its jobs\' logins', async () => {
    await expect(unaryCall(userClient.createTrustedIssuer.bind(userClient), { workspaceSlug: workspace.slug, name: 'sneaky', kind: 'custom', issuerUrl: provider.issuer, jwksUrl: '', repositoryClaim: 'repository', mappings: [] }, { authorization: `Bearer ${workspace.admin.token}` })).rejects.toMatchObject({ code: 'DENIED' });
    // A mapping reaches only the workspace's own source repositories.
    await expect(unaryCall(userClient.createTrustedIssuer.bind(userClient), { workspaceSlug: workspace.slug, name: 'bad-map', kind: 'custom', issuerUrl: provider.issuer, jwksUrl: '', repositoryClaim: 'repository', mappings: [{ claimValue: 'x', sourceRepository: 'main/nowhere', sourceRepositoryId: '', pullSourceRepositories: [], pullSourceRepositoryIds: [] }] }, { authorization: `Bearer ${wsAdmin.token}` })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(unaryCall(userClient.createTrustedIssuer.bind(userClient), { workspaceSlug: workspace.slug, name: 'plain-http', kind: 'custom', issuerUrl: 'http://issuer.example.com', jwksUrl: '', repositoryClaim: 'repository', mappings: [{ claimValue: 'x', sourceRepository: 'main/app', sourceRepositoryId: '', pullSourceRepositories: [], pullSourceRepositoryIds: [] }] }, { authorization: `Bearer ${wsAdmin.token}` })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const listed = await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${workspace.slug}/trusted-issuers`, { headers: { Authorization: `Basic ${Buffer.from(`${wsAdmin.email}:${wsAdmin.token}`).toString('base64')}` } });
    const { trustedIssuers } = (await listed.json()) as { trustedIssuers: Array<{ id: string; name: string; mappings: unknown[] }> };
    const mine = trustedIssuers.find((t) => t.name === 'test-provider')!;
    expect(mine.mappings).toEqual([{ claimValue: 'main/app', sourceRepository: 'main/app', pullSourceRepositories: ['main/lib'] }]);
    // A login's refresh token (what docker keeps) stops working once its issuer is no longer trusted.
    const login = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&offline_token=true&scope=${encodeURIComponent(`repository:${workspace.slug}/app:pull`)}`, { headers: { Authorization: `Basic ${Buffer.from(`oidc:${await idToken()}`).toString('base64')}` } });
    const { refresh_token: refreshToken } = (await login.json()) as { refresh_token: string };
    const refresh = () => fetch(`${registry.gatewayUrl}/v2/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, scope: `repository:${workspace.slug}/app:pull`, service: 'ocireg' }) });
    expect((await refresh()).status).toBe(200);
    await ctl(wsAdmin, 'trusted-issuer', 'delete', workspace.slug, mine.id);
    expect((await refresh()).status).toBe(401);
    // Registering and removing it are in the workspace's audit log, with the mappings it had.
    const { entries } = await ctl(wsAdmin, 'audit', 'list', '--workspace', workspace.slug, '--action', 'trusted-issuer.*', '--target', mine.id);
    expect(entries.map((e: { action: string }) => e.action)).toEqual(['trusted-issuer.deleted', 'trusted-issuer.created']);
    expect(entries[1].after).toMatchObject({ issuerUrl: provider.issuer, repositoryClaim: 'repository', mappings: [{ claimValue: 'main/app', sourceRepository: 'main/app', pullSourceRepositories: ['main/lib'] }] });
  });
});
