// Strings a caller sends are checked once, at the gateway, before they go
// anywhere (issue 23, finding 4): a NUL, another control character, a lone
// surrogate or a string longer than its field allows answers 400
// INVALID_ARGUMENT naming the field (INVALID_ARGUMENT on the admin port),
// never a 500 from PostgreSQL ("invalid byte sequence", 22021). The
// systematic version, every field of every route and RPC, is
// fuzz-strings.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, users } from '@ocireg/proto';
import { adminPortClient, basicAuth, newWorkspace, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { signedIn, WebClient } from './web-client';

interface ErrorBody {
  errors: Array<{ code: string; message: string; detail?: { field?: string } }>;
}

describe('text input: NUL, control characters, lone surrogates and oversized strings are refused at the edge, naming the field', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let web: WebClient;
  let operator: WebClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await newWorkspace(registry, 'text');
    await new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin)).pushImage(`${workspace.slug}/app`, 'v1');
    web = (await signedIn(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'admin' })).web;
    operator = new WebClient(registry.gatewayUrl, { Authorization: `Bearer ${registry.operator.token}` });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  function expectRefused(response: { status: number; body: unknown }, field: string): void {
    const { errors } = response.body as ErrorBody;
    expect({ status: response.status, code: errors?.[0]?.code, field: errors?.[0]?.detail?.field }).toEqual({ status: 400, code: 'INVALID_ARGUMENT', field });
  }

  describe('the cases of the issue', () => {
    it('?prefix=%00 on the images and tags lists', async () => {
      expectRefused(await web.get(`/api/v1/workspaces/${workspace.slug}/images?prefix=%00`), 'prefix');
      expectRefused(await web.get(`/api/v1/workspaces/${workspace.slug}/images/app/-/tags?prefix=%00`), 'prefix');
    });

    it('a token name with a NUL', async () => {
      expectRefused(await web.request('POST', '/api/v1/tokens', { name: 'ci\u0000token', scopes: ['read:package'], expiresInDays: 7 }), 'name');
    });

    it('member set with a NUL in the email', async () => {
      expectRefused(await web.request('PUT', `/api/v1/repositories/${workspace.sourceRepositoryId}/members`, { user: 'someone\u0000@example.com', role: 'read' }), 'user');
    });

    it('sign-in with a NUL in the email', async () => {
      expectRefused(await new WebClient(registry.gatewayUrl).request('POST', '/api/v1/session', { email: 'someone\u0000@example.com', password: 'a long enough password' }), 'email');
    });

    it('invitations with a NUL in the email', async () => {
      expectRefused(await operator.request('POST', '/api/v1/invitations', { email: 'someone\u0000@example.com', workspace: workspace.slug }), 'email');
    });
  });

  describe('the JSON API', () => {
    it('refuses control characters, lone surrogates and strings longer than the field, in the body, the query and the path', async () => {
      const ws = `/api/v1/workspaces/${workspace.slug}`;
      expectRefused(await web.request('POST', `${ws}/packages`, { name: 'app\u0007', sourceRepository: 'app' }), 'name');
      expectRefused(await web.request('POST', `${ws}/packages`, { name: 'app\ud800', sourceRepository: 'app' }), 'name');
      expectRefused(await web.request('POST', `${ws}/packages`, { name: 'app', sourceRepository: '\udfffapp' }), 'sourceRepository');
      expectRefused(await web.request('POST', '/api/v1/tokens', { name: 'x', scopes: ['read:package', 'write\u0000:package'], expiresInDays: 7 }), 'scopes[1]');
      expectRefused(await web.request('POST', '/api/v1/tokens', { name: 'x'.repeat(5000), scopes: ['read:package'], expiresInDays: 7 }), 'name');
      expectRefused(await web.get(`${ws}/images?page_token=${'a'.repeat(5000)}`), 'page_token');
      expectRefused(await web.get(`${ws}/images?sort=name%00`), 'sort');
      expectRefused(await web.get(`${ws}/repositories?project=%1b`), 'project');
      expectRefused(await web.get(`/api/v1/workspaces/a%00b/images`), 'workspace');
      expectRefused(await web.get(`${ws}/images/app/-/tags/v1%00`), 'tag');
      expectRefused(await web.request('DELETE', `/api/v1/repositories/${workspace.sourceRepositoryId}/members/x%00y`), 'userId');
    });

    it('never echoes a long string back', async () => {
      const response = await web.request<ErrorBody>('POST', '/api/v1/tokens', { name: `${'x'.repeat(20_000)}\u0000`, scopes: ['read:package'], expiresInDays: 7 });
      expectRefused(response, 'name');
      expect(JSON.stringify(response.body).length).toBeLessThan(1000);
    });

    it('still takes ordinary text: unicode, ../ and a literal %00', async () => {
      expect((await web.get(`/api/v1/workspaces/${workspace.slug}/images?prefix=${encodeURIComponent('Grüße 😀 ../../etc/passwd %00')}`)).status).toBe(200);
      const token = await web.request<{ token: { name: string } }>('POST', '/api/v1/tokens', { name: 'für CI 😀 ../', scopes: ['read:package'], expiresInDays: 7 });
      expect(token.status).toBe(201);
      expect(token.body.token.name).toBe('für CI 😀 ../');
    });
  });

  describe('what the gateway cannot see: text inside opaque page tokens', () => {
    it('refuses a forged page token carrying a NUL as one it never returned', async () => {
      const forged = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
      expectRefused(await web.get(`/api/v1/workspaces/${workspace.slug}/images?page_token=${forged({ sort: 'name', name: 'a\u0000' })}`), 'page_token');
      expectRefused(await web.get(`/api/v1/workspaces/${workspace.slug}/images/app/-/tags?page_token=${forged({ sort: 'name', name: 'a\u0000' })}`), 'page_token');
      expectRefused(await operator.get(`/api/v1/workspaces?page_token=${forged({ after: 'a\u0000' })}`), 'page_token');
      expectRefused(await operator.get(`/api/v1/workspaces/${workspace.slug}/projects?page_token=${forged({ after: '\u0000' })}`), 'page_token');
    });
  });

  describe('the admin port', () => {
    it('refuses bad strings in any field of any request, naming it', async () => {
      const usersClient = adminPortClient(registry, users.UserServiceClient);
      const adminClient = adminPortClient(registry, admin.AdminServiceClient);
      const as = { authorization: registry.operator.authorization };
      try {
        await expect(unaryCall(usersClient.createToken.bind(usersClient), { userId: workspace.admin.email, name: 'ci\u0000', expiresInSeconds: 3600, scopes: ['read:package'] }, as)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'name' } });
        await expect(unaryCall(usersClient.createToken.bind(usersClient), { userId: workspace.admin.email, name: 'ci', expiresInSeconds: 3600, scopes: ['read:package', 'x'.repeat(1 << 20)] }, as)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'scopes[1]' } });
        await expect(unaryCall(usersClient.createPasswordLink.bind(usersClient), { user: 'a\u0000@example.com', purpose: users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_INVITE, expiresInSeconds: 0, workspaceSlug: '' }, as)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'user' } });
        await expect(unaryCall(adminClient.setMembership.bind(adminClient), { sourceRepositoryId: workspace.sourceRepositoryId, userId: 'a\u0000@example.com', role: admin.Role.ROLE_READ }, as)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'userId' } });
        await expect(unaryCall(adminClient.listImages.bind(adminClient), { workspaceSlug: workspace.slug, projectSlug: '', sourceRepositoryId: '', namePrefix: '\u0000', sort: admin.ImageSort.IMAGE_SORT_NAME, pageSize: 0, pageToken: '' }, as)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'namePrefix' } });
        await expect(unaryCall(adminClient.createWorkspace.bind(adminClient), { requestId: '', slug: 'x'.repeat(1 << 20), name: '', organization: '' }, as)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'slug' } });
      } finally {
        usersClient.close();
        adminClient.close();
      }
    });
  });

  describe('the registry API (/v2) and the token endpoint', () => {
    it('refuses bad query parameters and credentials, naming them', async () => {
      const auth = { Authorization: basicAuth(workspace.admin) };
      const v2 = (path: string, init: RequestInit = {}) => fetch(`${registry.gatewayUrl}/v2/${path}`, init).then(async (response) => ({ status: response.status, body: (await response.json()) as unknown }));
      expectRefused(await v2(`${workspace.slug}/app/blobs/uploads/?mount=sha256%3A${'0'.repeat(64)}&from=a%00b`, { method: 'POST', headers: auth }), 'from');
      expectRefused(await v2(`${workspace.slug}/app/referrers/sha256:${'0'.repeat(64)}?artifactType=%00`, { headers: auth }), 'artifactType');
      expectRefused(await v2(`token?scope=repository:${workspace.slug}/app:pull%00&service=x`, { headers: auth }), 'scope');
      expectRefused(await v2('token', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `grant_type=password&username=a%00b%40example.com&password=x` }), 'username');
      const nulEmail = `Basic ${Buffer.from(`a\u0000b@example.com:${workspace.admin.token}`).toString('base64')}`;
      expectRefused(await v2('token?scope=registry:catalog:*', { headers: { Authorization: nulEmail } }), 'username');
      expectRefused(await v2('_catalog', { headers: { Authorization: nulEmail } }), 'username');
      const json = await fetch(`${registry.gatewayUrl}/api/v1/workspaces`, { headers: { Authorization: nulEmail } });
      expectRefused({ status: json.status, body: await json.json() }, 'username');
    });
  });
});
