import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type RunningRegistry } from '@ocireg/devstack';
import { importRandomImage } from './images';
import { recordSecret, run, startTestRegistry, uniqueName } from './helpers';
import { pollUntil } from './polling';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');

describe('registryctl: from nothing to docker push, as the README documents', () => {
  let registry: RunningRegistry;
  let ctl: (...args: string[]) => Promise<Record<string, any>>;

  beforeAll(async () => {
    registry = await startTestRegistry();
    ctl = async (...args) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, ...args]));
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('user invite prints a single-use link that sets a password for the web UI; reset-password another', async () => {
    const email = `carol@${uniqueName('inv')}.example.com`;
    const link = await ctl('user', 'invite', email);
    expect(link).toMatchObject({ email, url: expect.stringMatching(/^\/set-password#ocireg_link_[a-f0-9]{16}_/) });
    const secret = String(link.url).split('#')[1]!;
    recordSecret(secret);
    const post = (path: string, body: unknown) =>
      fetch(`${registry.gatewayUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: registry.gatewayUrl }, body: JSON.stringify(body) });
    expect((await post('/api/v1/password-links/redeem', { secret, password: 'carol picks a password' })).status).toBe(200);
    expect((await post('/api/v1/password-links/redeem', { secret, password: 'carol picks a password' })).status).toBe(404);
    expect((await post('/api/v1/session', { email, password: 'carol picks a password' })).status).toBe(201);
    const reset = await ctl('user', 'reset-password', email, '--expires-in-days', '1');
    recordSecret(String(reset.url).split('#')[1]!);
    expect(Date.parse(reset.expiresAt) - Date.now()).toBeLessThanOrEqual(86_400_000);
    await expect(ctl('user', 'invite', email, '--expires-in-days', '90')).rejects.toThrow(/from 1 to 30/);
  });

  it('creates a workspace, project, repository, user, member, package and token, then docker pushes to it', async () => {
    const ws = uniqueName('acme');
    const email = `alice@${ws}.example.com`;
    const { user } = await ctl('user', 'create', email);
    expect((await ctl('workspace', 'create', ws, '--organization', 'acme-inc')).workspace.slug).toBe(ws);
    await ctl('project', 'create', ws, 'platform');
    const { sourceRepository: repository } = await ctl('repository', 'create', ws, 'platform', 'api');
    // A user is named by email (or id); an unknown one is NOT_FOUND, never a membership that grants nothing.
    await ctl('member', 'set', repository.id, email, 'admin');
    expect((await ctl('member', 'list', repository.id)).memberships).toEqual([{ sourceRepositoryId: repository.id, userId: user.id, role: 'ROLE_ADMIN', email }]);
    await expect(ctl('member', 'set', repository.id, `nobody@${ws}.example.com`, 'read')).rejects.toThrow(/NOT_FOUND: user nobody@/);
    const created = await ctl('package', 'create', ws, 'api-server', '--repository', repository.id);
    expect(created.package).toMatchObject({ workspaceSlug: ws, name: 'api-server', sourceRepositoryId: repository.id });

    expect((await ctl('role', user.id, `${ws}/api-server`)).role).toBe('ROLE_ADMIN');
    await expect(ctl('role', 'bob@example.com', `${ws}/api-server`)).rejects.toThrow(/NOT_FOUND/);

    const { secret, token } = await ctl('token', 'create', email, '--name', 'laptop', '--scopes', 'read:package,write:package', '--expires-in-days', '7');
    expect(secret).toMatch(/^ocireg_/);
    recordSecret(secret);
    expect(JSON.stringify(await ctl('token', 'list', email))).not.toContain(secret);
    expect((await ctl('token', 'list', email)).tokens[0].id).toBe(token.id);
    await run('docker', ['login', registry.registryHost, '--username', email, '--password-stdin'], { input: secret });

    const reference = `${registry.registryHost}/${ws}/api-server:1.0`;
    await importRandomImage(reference, 32 * 1024);
    expect(await run('docker', ['push', reference])).toMatch(/1\.0: digest: sha256:/);
    expect((await ctl('package', 'list', ws)).packages.map((p: { name: string }) => p.name)).toEqual(['api-server']);
    // Listings come from the indexer's read model: they catch up with a push within moments.
    const listed = await pollUntil(async () => (await ctl('image', 'list', ws, '--project', 'platform')).images, (images) => images.length > 0, 10_000, 100);
    expect(listed[0]).toMatchObject({ name: 'api-server', tagCount: 1 });
    const details = await ctl('image', 'get', ws, 'api-server');
    expect(details.tags.map((t: { tag: string }) => t.tag)).toEqual(['1.0']);
    expect(Number(details.manifests[0].size)).toBeGreaterThan(32 * 1024);
    // The gateway read the platform from the image's config at push time.
    expect(details.manifests[0].platforms).toEqual([{ os: 'linux', architecture: 'amd64', variant: '' }]);
    expect((await ctl('image', 'tag', ws, 'api-server', '1.0')).tag.digest).toBe(details.manifests[0].digest);

    // Plan limits: usage is readable, and a push past the quota is refused with a clear message.
    const usage = await ctl('workspace', 'usage', ws);
    expect(Number(usage.workspaceBytes)).toBeGreaterThan(32 * 1024);
    await ctl('workspace', 'settings', ws, '--plan', 'tiny', '--storage-quota', String(Number(usage.workspaceBytes) + 1000));
    const big = `${registry.registryHost}/${ws}/api-server:2.0`;
    await importRandomImage(big, 256 * 1024);
    await expect(run('docker', ['push', big])).rejects.toThrow(/denied: storage quota of workspace .* exceeded/);
    expect(Number((await ctl('workspace', 'usage', ws)).workspaceBytes)).toBe(Number(usage.workspaceBytes));
  });

  it('refuses callers without an operator token', async () => {
    await expect(run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', 'ocireg_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'workspace', 'create', 'nope'])).rejects.toThrow(/UNAUTHORIZED/);
    const ws = uniqueName('limited');
    await ctl('workspace', 'create', ws, '--organization', 'x');
    await ctl('project', 'create', ws, 'p');
    const { sourceRepository: repository } = await ctl('repository', 'create', ws, 'p', 'r');
    const email = `bob@${ws}.example.com`;
    const { user } = await ctl('user', 'create', email);
    await ctl('member', 'set', repository.id, user.id, 'admin');
    const { secret } = await ctl('token', 'create', email, '--scopes', 'read:package,write:package,admin:package');
    recordSecret(secret);
    const asBob = (...args: string[]) => run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', secret, ...args]);
    // A repository admin manages packages and members of that repository, but creates no workspaces or users.
    expect(JSON.parse(await asBob('package', 'create', ws, 'bobs-image', '--repository', repository.id)).package.name).toBe('bobs-image');
    await expect(asBob('workspace', 'create', uniqueName('bobs'))).rejects.toThrow(/DENIED/);
    await expect(asBob('user', 'create', `mallory@${ws}.example.com`)).rejects.toThrow(/DENIED/);
    await expect(asBob('project', 'create', ws, 'other')).rejects.toThrow(/DENIED/);
  });

  it('reports bad input with the gRPC code and a non-zero exit', async () => {
    await expect(run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, 'workspace', 'create', 'Not Valid'])).rejects.toThrow(/INVALID_ARGUMENT: slug/);
    await expect(ctl('token', 'create', registry.operator.email, '--expires-in-days', '100000')).rejects.toThrow(/--expires-in-days must be a number of days from 1 to 36500/);
    await expect(ctl('token', 'create', registry.operator.email, '--expires-in-days', '3650')).rejects.toThrow(/INVALID_ARGUMENT: expires_in_seconds: must be at most 365 days/);
  });

  it('takes the token from REGISTRY_TOKEN, and its help never shows the token\'s value', async () => {
    const env = { REGISTRY_TOKEN: registry.operator.token };
    // Commander wraps help to the terminal's width: compare it as one line.
    const help = (await run(process.execPath, [CLI, '--help'], { env })).replace(/\s+/g, ' ');
    expect(help).toContain('(env: REGISTRY_TOKEN)');
    expect(help).not.toContain(registry.operator.token);
    expect(JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, 'workspace', 'list'], { env })).workspaces).toBeInstanceOf(Array);
  });

  it('names the admin address it could not reach', async () => {
    await expect(run(process.execPath, [CLI, '--admin', '127.0.0.1:1', '--token', registry.operator.token, 'workspace', 'list'])).rejects.toThrow(/UNAVAILABLE.*admin API at 127\.0\.0\.1:1/);
  });
});
