import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessStateReader, type AccessSnapshot } from '@ocireg/access-state';
import { createUserWithToken, type RunningRegistry, type UserToken } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { createLogger } from '@ocireg/logger';
import { admin, users } from '@ocireg/proto';
import { adminPortClient, basicAuth, newWorkspace, recordSecret, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { pollUntilEquals as eventually } from './polling';

const silent = createLogger({ service: 'e2e', level: 'silent' });

/** What each backend holds right now, read with the library the services use. */
async function stateIn(kind: 'redis' | 'postgres'): Promise<AccessSnapshot> {
  const reader = createAccessStateReader({ kind, url: kind === 'redis' ? process.env.REDIS_URL! : process.env.DATABASE_URL! }, silent);
  try {
    return await reader.load();
  } finally {
    await reader.close();
  }
}

/**
 * Embedded mode: auth, metadata and the gateway run without REDIS_URL, so
 * revocations and access changes travel through PostgreSQL LISTEN/NOTIFY and
 * failed logins are counted in memory. (blob-upload keeps Redis: its sessions
 * are another change.)
 */
describe('auth without Redis (embedded mode): revocations and access changes through PostgreSQL', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;

  const user = async (name: string, scopes: string[], role?: 'read' | 'write' | 'admin'): Promise<UserToken> => {
    const created = await createUserWithToken(registry.adminAddress, { email: `${name}@${workspace.slug}.example.com`, scopes, sourceRepositoryId: workspace.sourceRepositoryId, role }, registry.operator.authorization);
    recordSecret(created.token);
    return created;
  };

  const bearerFor = async (who: UserToken, repository: string) => {
    const response = await fetch(`${registry.gatewayUrl}/v2/token?scope=${encodeURIComponent(`repository:${workspace.slug}/${repository}:pull`)}`, { headers: { Authorization: basicAuth(who) } });
    return `Bearer ${((await response.json()) as { token: string }).token}`;
  };

  beforeAll(async () => {
    registry = await startTestRegistry();
    // An empty REDIS_URL counts as unset; the gateway finds DATABASE_URL in the common environment.
    for (const service of ['auth', 'metadata', 'gateway'] as const) await registry.restart(service, { REDIS_URL: '' });
    workspace = await newWorkspace(registry);
    recordSecret(workspace.admin.token);
    // Packages the members read (a name without one grants nobody anything).
    const oci = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    for (const name of ['x', 'y']) await oci.pushImage(`${workspace.slug}/${name}`, 'v1');
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('a revoked token fails on the next request, through PostgreSQL and not Redis, and still after a gateway restart', async () => {
    const reader = await user('revoked', ['read:package'], 'read');
    const bearer = await bearerFor(reader, 'x');
    const url = `${registry.gatewayUrl}/v2/${workspace.slug}/x/tags/list`;
    expect((await fetch(url, { headers: { Authorization: bearer } })).status).not.toBe(401);

    const client = adminPortClient(registry, users.UserServiceClient);
    try {
      await unaryCall(client.revokeToken.bind(client), { tokenId: reader.tokenId }, { authorization: registry.operator.authorization });
    } finally {
      client.close();
    }
    expect(await eventually(async () => (await fetch(url, { headers: { Authorization: bearer } })).status, 401)).toBe(401);
    expect((await stateIn('postgres')).revokedTokens).toContain(reader.tokenId);
    expect((await stateIn('redis')).revokedTokens).not.toContain(reader.tokenId);

    // A fresh gateway loads the revocation from PostgreSQL at start.
    await registry.restart('gateway');
    expect((await fetch(url, { headers: { Authorization: bearer } })).status).toBe(401);
  });

  it('removing a membership stops a token already handed out, announced through PostgreSQL', async () => {
    const member = await user('member', ['read:package'], 'read');
    const bearer = await bearerFor(member, 'y');
    const url = `${registry.gatewayUrl}/v2/${workspace.slug}/y/tags/list`;
    expect((await fetch(url, { headers: { Authorization: bearer } })).status).not.toBe(401);

    const adminClient = adminPortClient(registry, admin.AdminServiceClient);
    try {
      await unaryCall(adminClient.removeMembership.bind(adminClient), { sourceRepositoryId: workspace.sourceRepositoryId, userId: member.userId }, { authorization: registry.operator.authorization });
    } finally {
      adminClient.close();
    }
    expect(await eventually(async () => (await fetch(url, { headers: { Authorization: bearer } })).status, 401)).toBe(401);
    expect((await stateIn('postgres')).accessEpochs.get(`user:${member.userId}`)).toBeGreaterThan(0);
    expect((await stateIn('redis')).accessEpochs.has(`user:${member.userId}`)).toBe(false);
  });

  it('counts failed logins in memory: 429 after the limit, forgotten when auth restarts', async () => {
    const target = await user('bruteforced', ['read:package'], 'read');
    const attempt = async () => (await fetch(`${registry.gatewayUrl}/v2/token`, { headers: { Authorization: `Basic ${Buffer.from(`${target.email}:wrong`).toString('base64')}` } })).status;
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push(await attempt());
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    expect(statuses[10]).toBe(429);

    await registry.restart('auth');
    expect(await attempt()).toBe(401);
  });
});
