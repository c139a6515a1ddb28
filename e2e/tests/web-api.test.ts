import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { users } from '@ocireg/proto';
import { webApi, type ApiResponse, type RouteName } from '@ocireg/web-api';
import { basicAuth, newWorkspace, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { eventually } from './polling';
import { invite, signedIn, WebClient, webUser } from './web-client';

interface ErrorBody {
  errors: Array<{ code: string; message: string }>;
}

describe('web UI JSON API: sessions, CSRF, invitations, browsing and changes as the roles allow', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let oci: OciHttp;

  beforeAll(async () => {
    // Trusted proxy: loopback, so X-Forwarded-For and X-Forwarded-Proto can stand for other clients and TLS.
    registry = await startTestRegistry({ OUTBOX_POLL_MS: '20', LOGIN_FAILURE_LIMIT: '3', TRUSTED_PROXY_CIDRS: '127.0.0.1/32' });
    workspace = await newWorkspace(registry, 'web');
    oci = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    await oci.pushImage(`${workspace.slug}/api`, '1.0');
    await oci.pushImage(`${workspace.slug}/api`, '1.1');
    await oci.pushImage(`${workspace.slug}/tools/cli`, 'latest');
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('invitation: inspect, weak password refused, set once, then sign in with an HttpOnly SameSite cookie', async () => {
    const email = `invitee-${Date.now()}@example.com`;
    const link = await invite(registry, email);
    expect(link.url).toBe(`/set-password#${link.secret}`);
    const web = new WebClient(registry.gatewayUrl);
    const inspected = await web.request('POST', '/api/v1/password-links/inspect', { secret: link.secret });
    expect(inspected.body).toMatchObject({ email, purpose: 'invite' });
    const weak = await web.request<ErrorBody>('POST', '/api/v1/password-links/redeem', { secret: link.secret, password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.body.errors[0]!.message).toMatch(/at least 12/);
    expect((await web.request('POST', '/api/v1/password-links/redeem', { secret: link.secret, password: 'a fine long password' })).status).toBe(200);
    expect((await web.request('POST', '/api/v1/password-links/redeem', { secret: link.secret, password: 'another long password' })).status).toBe(404);

    expect((await web.signIn(email, 'not the password at all')).status).toBe(401);
    const ok = await web.signIn(email, 'a fine long password');
    expect(ok.status).toBe(201);
    const cookie = ok.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^ocireg_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    const session = await web.get<{ user: { email: string }; csrfToken: string }>('/api/v1/session');
    expect(session.body.user.email).toBe(email);
    expect(session.body.csrfToken).toBe(ok.body.csrfToken);

    // Sign-out ends the session on the server, not only in this browser.
    const oldCookie = web.cookie;
    const out = await web.request('DELETE', '/api/v1/session');
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    const replay = new WebClient(registry.gatewayUrl);
    replay.cookie = oldCookie;
    expect((await replay.get('/api/v1/session')).status).toBe(401);
  });

  it('refuses a session\'s changes without the CSRF token or from another Origin; sign-in from another Origin too', async () => {
    const { user, web } = await signedIn(registry);
    const body = { name: 'ci', scopes: ['read:package'], expiresInDays: 7 };
    const noToken = await web.request<ErrorBody>('POST', '/api/v1/tokens', body, { 'X-CSRF-Token': '' });
    expect(noToken.status).toBe(403);
    expect(noToken.body.errors[0]!.message).toMatch(/CSRF/);
    expect((await web.request('POST', '/api/v1/tokens', body, { 'X-CSRF-Token': 'x'.repeat(43) })).status).toBe(403);
    expect((await web.request('POST', '/api/v1/tokens', body, { Origin: 'https://evil.example' })).status).toBe(403);
    const noOrigin = await fetch(`${registry.gatewayUrl}/api/v1/tokens`, { method: 'POST', headers: { Cookie: web.cookie, 'X-CSRF-Token': web.csrfToken, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(noOrigin.status).toBe(403);
    expect((await new WebClient(registry.gatewayUrl, { Origin: 'https://evil.example' }).signIn(user.email, user.password)).status).toBe(403);
    // Reads need no token; the right token and Origin create one, shown once with the docker login line.
    expect((await web.get('/api/v1/tokens')).status).toBe(200);
    const created = await web.request<{ secret: string; dockerLogin: string; token: { id: string } }>('POST', '/api/v1/tokens', body);
    expect(created.status).toBe(201);
    expect(created.body.dockerLogin).toBe(`docker login --username ${user.email} ${registry.registryHost}`);
    const listed = await web.get<{ tokens: Array<{ id: string; name: string }> }>('/api/v1/tokens');
    expect(listed.body.tokens.map((t) => t.id)).toContain(created.body.token.id);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    expect((await web.request('DELETE', `/api/v1/tokens/${created.body.token.id}`)).status).toBe(200);
    const after = await web.get<{ tokens: Array<{ id: string; revokedAt: string }> }>('/api/v1/tokens');
    expect(after.body.tokens.find((t) => t.id === created.body.token.id)?.revokedAt).not.toBe('');
  });

  it('password sign-in limits: over the limit even the right password is refused from that address, not from another', async () => {
    const user = await webUser(registry);
    const attacker = new WebClient(registry.gatewayUrl, { 'X-Forwarded-For': '198.51.100.23' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await attacker.signIn(user.email, `wrong password ${i}xx`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await attacker.signIn(user.email, user.password)).status).toBe(429);
    expect((await new WebClient(registry.gatewayUrl, { 'X-Forwarded-For': '203.0.113.44' }).signIn(user.email, user.password)).status).toBe(201);
  });

  it('behind a trusted TLS proxy the cookie is Secure with the __Host- prefix', async () => {
    const user = await webUser(registry);
    const host = new URL(registry.gatewayUrl).host;
    const web = new WebClient(registry.gatewayUrl, { 'X-Forwarded-Proto': 'https', Origin: `https://${host}` });
    const response = await web.signIn(user.email, user.password);
    expect(response.status).toBe(201);
    expect(response.headers.get('set-cookie')).toMatch(/^__Host-ocireg_session=.*; Secure$/);
    expect((await web.get('/api/v1/session')).status).toBe(200);
  });

  it('browses workspaces, projects, repositories (by slug) and packages with registryctl\'s names', async () => {
    const { web } = await signedIn(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'read' });
    const ws = `/api/v1/workspaces/${workspace.slug}`;
    // (Other test files' public workspaces are visible to everyone: the test database is shared.)
    expect((await web.get<{ workspaces: Array<{ slug: string }> }>('/api/v1/workspaces')).body.workspaces.map((w) => w.slug)).toContain(workspace.slug);
    expect((await web.get<{ callerIsAdmin: boolean }>(ws)).body.callerIsAdmin).toBe(false);
    expect((await web.get<{ projects: Array<{ slug: string }> }>(`${ws}/projects`)).body.projects.map((p) => p.slug)).toEqual(['main']);
    const repositories = await web.get<{ sourceRepositories: Array<{ slug: string; callerRole: string; id: string }> }>(`${ws}/repositories`);
    expect(repositories.body.sourceRepositories).toEqual([expect.objectContaining({ slug: 'app', callerRole: 'read', id: workspace.sourceRepositoryId })]);
    expect((await web.get<{ sourceRepository: { id: string } }>(`${ws}/repositories/app`)).body.sourceRepository.id).toBe(workspace.sourceRepositoryId);

    const listed = await eventually(async () => {
      const page = await web.get<{ images: Array<Record<string, unknown>> }>(`${ws}/images?sourceRepository=app&sort=last-pushed`);
      return page.body.images?.length === 2 ? page.body : undefined;
    }, 10_000);
    expect(listed.images.map((i) => i.name)).toEqual(['tools/cli', 'api']);
    expect(listed.images[1]).toMatchObject({ sourceRepositoryId: workspace.sourceRepositoryId, projectSlug: 'main', sourceRepositorySlug: 'app', tagCount: 2 });
    expect((await web.get<{ images: unknown[] }>(`${ws}/images?sourceRepository=app&project=main&prefix=to`)).body.images).toHaveLength(1);
    expect((await web.get(`${ws}/images?sourceRepository=nope`)).status).toBe(404);

    const overview = await web.get<{ callerRole: string; image: { tagCount: number }; repository: { slug: string } }>(`${ws}/images/api/-/overview`);
    expect(overview.body).toMatchObject({ callerRole: 'read', image: { tagCount: 2 }, sourceRepository: { slug: 'app' } });
    const tags = await web.get<{ tags: Array<{ tag: string; manifest: { platforms: unknown[]; layers: unknown[] } }>; nextPageToken: string }>(`${ws}/images/api/-/tags?page_size=1`);
    expect(tags.body.tags.map((t) => t.tag)).toEqual(['1.0']);
    expect(tags.body.tags[0]!.manifest.platforms).toEqual([{ os: 'linux', architecture: 'amd64', variant: '' }]);
    const next = await web.get<{ tags: Array<{ tag: string }> }>(`${ws}/images/api/-/tags?page_size=1&page_token=${tags.body.nextPageToken}`);
    expect(next.body.tags.map((t) => t.tag)).toEqual(['1.1']);
    const tag = await web.get<{ manifest: { digest: string } }>(`${ws}/images/api/-/tags/1.0`);
    const manifest = await web.get<{ config: { os: string; architecture: string; created: string }; manifest: { layers: unknown[] } }>(`${ws}/images/api/-/manifests/${tag.body.manifest.digest}`);
    expect(manifest.body.config).toMatchObject({ os: 'linux', architecture: 'amd64' });
    expect(manifest.body.manifest.layers).toHaveLength(1);
    const usage = await web.get<{ workspaceBytes: number }>(`${ws}/usage`);
    expect(usage.body.workspaceBytes).toBeGreaterThan(0);
    const members = await web.get<{ members: Array<{ email: string; role: string }> }>(`/api/v1/repositories/${workspace.sourceRepositoryId}/members`);
    expect(members.body.members).toContainEqual({ userId: workspace.admin.userId, email: workspace.admin.email, role: 'admin' });
  });

  it('answers carry exactly the fields @ocireg/web-api defines for their route', async () => {
    const { web } = await signedIn(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'admin' });
    const ws = `/api/v1/workspaces/${workspace.slug}`;
    await eventually(async () => ((await web.get<ApiResponse<'listImages'>>(`${ws}/images`)).body.images?.length === 2 ? true : undefined), 10_000);
    const digest = (await web.get<ApiResponse<'getTag'>>(`${ws}/images/api/-/tags/1.0`)).body.manifest!.digest;
    const calls: Array<[RouteName, string, string, unknown?]> = [
      ['currentSession', 'GET', '/api/v1/session'],
      ['listWorkspaces', 'GET', '/api/v1/workspaces'],
      ['getWorkspace', 'GET', ws],
      ['getStorageUsage', 'GET', `${ws}/usage`],
      ['listProjects', 'GET', `${ws}/projects`],
      ['getProject', 'GET', `${ws}/projects/main`],
      ['listSourceRepositories', 'GET', `${ws}/repositories`],
      ['getSourceRepository', 'GET', `${ws}/repositories/app`],
      ['listImages', 'GET', `${ws}/images?sort=last-pushed`],
      ['imageOverview', 'GET', `${ws}/images/api/-/overview`],
      ['listTags', 'GET', `${ws}/images/api/-/tags`],
      ['getTag', 'GET', `${ws}/images/api/-/tags/1.0`],
      ['getManifest', 'GET', `${ws}/images/api/-/manifests/${digest}`],
      ['getImage', 'GET', `${ws}/images/api`],
      ['getStatus', 'GET', '/api/v1/status'],
      ['listMembers', 'GET', `/api/v1/repositories/${workspace.sourceRepositoryId}/members`],
      ['createToken', 'POST', '/api/v1/tokens', { name: 'shapes', scopes: ['read:package'], expiresInDays: 1 }],
      ['listTokens', 'GET', '/api/v1/tokens'],
    ];
    for (const [route, method, path, body] of calls) {
      const response = await web.request(method, path, body);
      expect([route, response.status]).toEqual([route, method === 'POST' ? 201 : 200]);
      const parsed = webApi[route].response.safeParse(response.body);
      expect(parsed.success ? [] : parsed.error.issues, route).toEqual([]);
    }
  });

  it('a non-member gets 404 everywhere, never another workspace\'s data', async () => {
    const { web } = await signedIn(registry);
    const ws = `/api/v1/workspaces/${workspace.slug}`;
    expect((await web.get<{ workspaces: Array<{ slug: string }> }>('/api/v1/workspaces')).body.workspaces.map((w) => w.slug)).not.toContain(workspace.slug);
    const paths = [ws, `${ws}/usage`, `${ws}/projects`, `${ws}/repositories`, `${ws}/repositories/app`, `${ws}/images`, `${ws}/images/api`, `${ws}/images/api/-/overview`, `${ws}/images/api/-/tags`, `${ws}/images/api/-/tags/1.0`, `/api/v1/repositories/${workspace.sourceRepositoryId}/members`];
    for (const path of paths) {
      const response = await web.get<ErrorBody>(path);
      expect([path, response.status]).toEqual([path, 404]);
      expect(JSON.stringify(response.body)).not.toContain('1.1');
    }
    expect((await web.request('DELETE', `${ws}/images/api/-/tags/1.0`)).status).toBe(404);
    expect((await web.request('DELETE', `${ws}/images/api`)).status).toBe(404);
    // A change is refused as on the admin port (DENIED), saying nothing of what is there.
    const sneaky = await web.request<ErrorBody>('POST', `${ws}/packages`, { name: 'sneaky', sourceRepositoryId: workspace.sourceRepositoryId });
    expect(sneaky.status).toBe(403);
    expect(JSON.stringify(sneaky.body)).not.toMatch(/app|api|tools/);
  });

  it('roles: Write deletes tags but not images, cannot create packages; Admin creates packages and deletes images', async () => {
    const ws = `/api/v1/workspaces/${workspace.slug}`;
    const writer = await signedIn(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'write' });
    const adminUser = await signedIn(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'admin' });
    await oci.pushImage(`${workspace.slug}/doomed`, 'a');
    await oci.pushImage(`${workspace.slug}/doomed`, 'b');
    const byDigest = await oci.pushImage(`${workspace.slug}/doomed`, 'c');
    await eventually(async () => ((await writer.web.get<{ tags: unknown[] }>(`${ws}/images/doomed/-/tags`)).body.tags?.length === 3 ? true : undefined), 10_000);

    const refused = await writer.web.request<ErrorBody>('POST', `${ws}/packages`, { name: 'by-writer', sourceRepository: 'app' });
    expect(refused.status).toBe(403);
    expect((await writer.web.request('DELETE', `${ws}/images/doomed/-/tags/a`)).status).toBe(200);
    const denied = await writer.web.request<ErrorBody>('DELETE', `${ws}/images/doomed`);
    expect(denied.status).toBe(403);
    expect(denied.body.errors[0]!.code).toBe('DENIED');
    expect((await writer.web.request('DELETE', `${ws}/images/doomed/-/manifests/${byDigest.manifest.digest}`)).status).toBe(403);
    const oneManifest = await adminUser.web.request<{ deleted: { digest: string; tags: string[] } }>('DELETE', `${ws}/images/doomed/-/manifests/${byDigest.manifest.digest}`);
    expect([oneManifest.status, oneManifest.body.deleted]).toEqual([200, { digest: byDigest.manifest.digest, tags: ['c'] }]);
    expect((await adminUser.web.request('DELETE', `${ws}/images/doomed/-/manifests/sha256:nothex`)).status).toBe(400);

    const created = await adminUser.web.request<{ package: { name: string } }>('POST', `${ws}/packages`, { name: 'made/in-ui', sourceRepository: 'app' });
    expect(created.status).toBe(201);
    expect((await adminUser.web.request('POST', `${ws}/packages`, { name: 'made/in-ui', sourceRepository: 'app' })).status).toBe(409);
    expect((await adminUser.web.request('POST', `${ws}/packages`, { name: 'Bad Name', sourceRepository: 'app' })).status).toBe(400);
    const deleted = await adminUser.web.request<{ deleted: { manifests: number; tags: number }; note: string }>('DELETE', `${ws}/images/doomed`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.deleted).toEqual({ manifests: 2, tags: 1 });
    expect(deleted.body.note).toMatch(/freed later/);
    await eventually(async () => ((await adminUser.web.get<{ images: Array<{ name: string }> }>(`${ws}/images?prefix=doomed`)).body.images.length === 0 ? true : undefined), 10_000);
    // The OCI API agrees: the manifests are gone.
    expect((await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/doomed/manifests/b`, { headers: { Authorization: basicAuth(workspace.admin) } })).status).toBe(404);
  });

  it('workspace admins invite only people without an account; operators also reset', async () => {
    const email = `wsadmin-${Date.now()}@example.com`;
    const wsAdmin = await signedIn(registry, { email });
    // Not yet a workspace admin: refused.
    expect((await wsAdmin.web.request('POST', '/api/v1/invitations', { email: 'someone@example.com', workspace: workspace.slug })).status).toBe(403);
    const reset = await invite(registry, email, users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_RESET);
    expect(reset.email).toBe(email);
    // A reset ends the user's sessions when used.
    expect((await new WebClient(registry.gatewayUrl).request('POST', '/api/v1/password-links/redeem', { secret: reset.secret, password: 'a brand new password' })).status).toBe(200);
    expect((await wsAdmin.web.get('/api/v1/session')).status).toBe(401);
  });

  it('bad input answers 4xx JSON errors, never 500; the UI is served with a strict CSP and cache headers', async () => {
    const { web } = await signedIn(registry, { sourceRepositoryId: workspace.sourceRepositoryId, role: 'read' });
    const ws = `/api/v1/workspaces/${workspace.slug}`;
    const cases: Array<[string, string, unknown, number]> = [
      ['GET', `${ws}/images?sort=size`, undefined, 400],
      ['GET', `${ws}/images?page_size=100000`, undefined, 400],
      ['GET', `${ws}/images?page_token=forged`, undefined, 400],
      ['GET', `${ws}/images/api/-/tags?sort=weird`, undefined, 400],
      ['GET', `${ws}/images/api/-/manifests/not-a-digest`, undefined, 400],
      ['GET', '/api/v1/nothing-here', undefined, 404],
      ['GET', `${ws}/images/%E0%A4%A`, undefined, 400],
      ['POST', '/api/v1/tokens', '{not json', 400],
      ['POST', '/api/v1/tokens', { name: 'x', scopes: 'read:package', expiresInDays: 7 }, 400],
      ['POST', '/api/v1/tokens', { name: 'x', scopes: ['read:package'], expiresInDays: 9999 }, 400],
      ['POST', '/api/v1/session', { email: 5, password: [] }, 400],
      ['PUT', `/api/v1/repositories/${workspace.sourceRepositoryId}/members`, { user: 'x@example.com', role: 'owner' }, 400],
      ['POST', '/', undefined, 405],
    ];
    for (const [method, path, body, status] of cases) {
      const response = await web.request<ErrorBody>(method, path, body);
      expect([method, path, response.status]).toEqual([method, path, status]);
      expect(response.body.errors?.[0]?.code).toBeTruthy();
    }
    const page = await fetch(`${registry.gatewayUrl}/w/${workspace.slug}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await page.text();
    expect(html).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*src=)[^>]*>[^<]/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const script = await fetch(`${registry.gatewayUrl}${asset}`);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${registry.gatewayUrl}/assets/missing-abc.js`)).status).toBe(404);
    // /v2 is still the registry's node:http handler.
    expect((await fetch(`${registry.gatewayUrl}/v2/`)).headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });
});
