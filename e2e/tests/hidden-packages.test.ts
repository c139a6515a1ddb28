// A package the caller has no role on answers exactly as a name that does not
// exist (issue 23, finding 2): registry tokens, every /v2 route, the admin
// API's role call and listings, the JSON API. Each identity asks about a real
// hidden package and a made-up name, and every answer must be the same once
// the name itself is swapped out.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, type RunningRegistry, type UserToken } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';
import { adminPortClient, basicAuth, newWorkspace, recordSecret, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';

describe('hidden packages answer as missing ones', () => {
  let registry: RunningRegistry;
  let ws: TestWorkspace;
  let image: Awaited<ReturnType<OciHttp['pushImage']>>;
  const who = new Map<string, UserToken>();
  let wsAdmin: UserToken;
  let vaultId: string;
  const hidden = 'secret-pkg';
  const asOperator = () => ({ authorization: registry.operator.authorization });

  beforeAll(async () => {
    registry = await startTestRegistry();
    ws = await newWorkspace(registry, 'hide');
    const client = adminPortClient(registry, admin.AdminServiceClient);
    try {
      const { sourceRepository: repository } = await unaryCall(client.createSourceRepository.bind(client), { requestId: '', workspaceSlug: ws.slug, projectSlug: 'main', slug: 'vault', name: '' }, asOperator());
      await unaryCall(client.createPackage.bind(client), { requestId: '', workspaceSlug: ws.slug, name: hidden, sourceRepositoryId: repository!.id, actorUserId: '' }, asOperator());
      vaultId = repository!.id;
      // Pushed by a member of the vault repository, whom nobody below is.
      const keeper = await createUserWithToken(registry.adminAddress, { email: `keeper@${ws.slug}.example.com`, scopes: ['read:package', 'write:package'], sourceRepositoryId: repository!.id, role: 'write' }, registry.operator.authorization);
      recordSecret(keeper.token);
      image = await new OciHttp(registry.gatewayUrl, basicAuth(keeper)).pushImage(`${ws.slug}/${hidden}`, 'v1');
    } finally {
      client.close();
    }
    const scopes = ['read:package', 'write:package', 'admin:package'];
    wsAdmin = await createUserWithToken(registry.adminAddress, { email: `boss@${ws.slug}.example.com`, scopes: ['read:package'] }, registry.operator.authorization);
    recordSecret(wsAdmin.token);
    const adminClient = adminPortClient(registry, admin.AdminServiceClient);
    await unaryCall(adminClient.addWorkspaceAdmin.bind(adminClient), { workspaceSlug: ws.slug, userId: wsAdmin.userId }, asOperator()).finally(() => adminClient.close());
    for (const [name, role] of [['reader', 'read'], ['writer', 'write'], ['admin', 'admin'], ['stranger', undefined]] as const) {
      const created = await createUserWithToken(
        registry.adminAddress,
        { email: `${name}-${randomBytes(3).toString('hex')}@${ws.slug}.example.com`, scopes, ...(role ? { sourceRepositoryId: ws.sourceRepositoryId, role } : {}) },
        registry.operator.authorization,
      );
      recordSecret(created.token);
      who.set(name, created);
    }
  });

  afterAll(async () => {
    await registry?.stop();
  });

  const setCreateOnPush = async (on: boolean) => {
    const client = adminPortClient(registry, admin.AdminServiceClient);
    await unaryCall(client.updateWorkspaceSettings.bind(client), { slug: ws.slug, createPackagesOnPush: on }, asOperator()).finally(() => client.close());
  };

  /** Everything one identity can learn about a name, with the name replaced by NAME. */
  const answersFor = async (user: UserToken, image: string): Promise<unknown[]> => {
    const name = `${ws.slug}/${image}`;
    const auth = { Authorization: basicAuth(user) };
    const scrub = (text: string) => text.split(name).join('NAME').split(image).join('NAME');
    const v2 = async (method: string, path: string) => {
      const response = await fetch(`${registry.gatewayUrl}/v2/${name}/${path}`, { method, headers: auth });
      const body = method === 'HEAD' ? '' : await response.text();
      return `${method} ${path}: ${response.status} ${scrub(response.headers.get('www-authenticate') ?? '')} ${scrub(body)}`;
    };
    const token = await fetch(`${registry.gatewayUrl}/v2/token?service=ocireg&scope=repository:${name}:pull,push,delete`, { headers: auth });
    const { token: jwt } = (await token.json()) as { token: string };
    const access = (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { access: Array<{ actions: string[] }> }).access.map((a) => a.actions);
    const client = adminPortClient(registry, admin.AdminServiceClient);
    const bearer = { authorization: `Bearer ${user.token}` };
    const admin_ = async (call: () => Promise<unknown>) => call().then((answer) => JSON.stringify(answer), (err: { code?: string; message?: string }) => `${err.code} ${scrub(err.message ?? '')}`);
    try {
      return [
        `token ${token.status} ${JSON.stringify(access)}`,
        await v2('GET', 'manifests/v1'),
        await v2('HEAD', 'manifests/v1'),
        await v2('GET', `manifests/${imageDigest()}`),
        await v2('GET', 'tags/list'),
        await v2('GET', `blobs/${layerDigest()}`),
        await v2('HEAD', `blobs/${layerDigest()}`),
        await v2('GET', `referrers/${imageDigest()}`),
        await v2('POST', 'blobs/uploads/'),
        await v2('DELETE', 'manifests/v1'),
        `role ${await admin_(() => unaryCall(client.getEffectiveRole.bind(client), { userId: user.userId, fullName: name }, bearer))}`,
        `getPackage ${await admin_(() => unaryCall(client.getPackage.bind(client), { workspaceSlug: ws.slug, name: image }, bearer))}`,
        `json ${(await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${ws.slug}/images/${image}`, { headers: auth })).status}`,
      ];
    } finally {
      client.close();
    }
  };
  const imageDigest = () => image.manifest.digest;
  const layerDigest = () => image.layer.digest;

  for (const createOnPush of [false, true]) {
    describe(`in a workspace that ${createOnPush ? 'creates' : 'does not create'} packages on push`, () => {
      beforeAll(() => setCreateOnPush(createOnPush));
      // With create-on-push, whoever may create a package (Write on the default repository)
      // learns that a name is taken when its push is refused, as with any unique name:
      // never what it holds. Everyone else sees no difference at all.
      const identities = createOnPush ? ['reader', 'stranger'] : ['reader', 'writer', 'admin', 'stranger'];
      it.each(identities)('%s gets the same answers for the hidden package as for a made-up name', async (name) => {
        const user = who.get(name)!;
        const forHidden = await answersFor(user, hidden);
        const forMissing = await answersFor(user, `made-up-${randomBytes(3).toString('hex')}`);
        expect(forHidden).toEqual(forMissing);
        // And what they get is a refusal, never the content.
        expect(forHidden[0]).toBe('token 200 [[]]');
        expect(forHidden[1]).toMatch(/^GET manifests\/v1: 401 /);
      });
    });
  }

  it('a Write member pushing to a name without a package is told how packages are created', async () => {
    await setCreateOnPush(false);
    const writer = who.get('writer')!;
    const response = await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/not-yet/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuth(writer) } });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };
    expect(body.errors[0]).toMatchObject({ code: 'DENIED', message: expect.stringContaining(`registryctl package create ${ws.slug} not-yet`) });
  });

  it('members, workspace admins and operators still see the package and its role truthfully', async () => {
    const client = adminPortClient(registry, admin.AdminServiceClient);
    try {
      const role = await unaryCall(client.getEffectiveRole.bind(client), { userId: who.get('reader')!.userId, fullName: `${ws.slug}/${hidden}` }, asOperator());
      expect(role).toMatchObject({ role: admin.Role.ROLE_UNSPECIFIED, packageExists: true });
    } finally {
      client.close();
    }
    const workspaceAdminPull = await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/${hidden}/manifests/v1`, { headers: { Authorization: basicAuth(wsAdmin), Accept: image.manifest.mediaType } });
    expect(workspaceAdminPull.status).toBe(200);
  });

  it('storage usage counts only the packages the caller may see: none of the hidden one\'s bytes for a member, all for the workspace admin', async () => {
    const client = adminPortClient(registry, admin.AdminServiceClient);
    try {
      const usageOf = (user: UserToken) => unaryCall(client.getStorageUsage.bind(client), { workspaceSlug: ws.slug }, { authorization: `Bearer ${user.token}` });
      const member = await usageOf(who.get('reader')!);
      expect([Number(member.workspaceBytes), member.packages]).toEqual([0, []]);
      const all = await usageOf(wsAdmin);
      expect(Number(all.workspaceBytes)).toBeGreaterThan(0);
      expect(all.packages.map((p) => p.fullName)).toEqual([`${ws.slug}/${hidden}`]);
    } finally {
      client.close();
    }
    const json = await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${ws.slug}/usage`, { headers: { Authorization: basicAuth(who.get('reader')!) } });
    expect(((await json.json()) as { workspaceBytes: number }).workspaceBytes).toBe(0);
  });

  it('an expired API token stops working over Basic on /v2 when it expires, not up to 30 s later', async () => {
    const shortLived = await createUserWithToken(registry.adminAddress, { email: `brief-${randomBytes(3).toString('hex')}@${ws.slug}.example.com`, scopes: ['read:package'], sourceRepositoryId: vaultId, role: 'read', expiresInSeconds: 3 }, registry.operator.authorization);
    recordSecret(shortLived.token);
    const headers = { Authorization: basicAuth(shortLived) };
    // Used (and its exchange cached) while valid...
    expect((await fetch(`${registry.gatewayUrl}/v2/`, { headers })).status).toBe(200);
    expect((await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/${hidden}/tags/list`, { headers })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 4_200));
    // ...refused a moment after it expired.
    expect((await fetch(`${registry.gatewayUrl}/v2/`, { headers })).status).toBe(401);
    expect((await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/${hidden}/tags/list`, { headers })).status).toBe(401);
  });
});
