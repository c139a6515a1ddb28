// Who may create credentials or links for whom (docs/security.md), with
// identities from two workspaces: the account takeover of issue 23 (a
// workspace admin's invitation setting the password of another workspace's
// user), and every admin call and JSON route that names a user.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, REPO_ROOT, type RunningRegistry, type UserToken } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, users } from '@ocireg/proto';
import { adminPortClient, basicAuth, newWorkspace, recordSecret, run, startTestRegistry, type TestWorkspace } from './helpers';
import { signedIn, WebClient, type WebUser } from './web-client';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
const INVITE = users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_INVITE;
const RESET = users.PasswordLinkPurpose.PASSWORD_LINK_PURPOSE_RESET;
type Outcome = 'OK' | 'DENIED' | 'NOT_FOUND' | 'UNAUTHORIZED' | 'INVALID_ARGUMENT';

describe('invitations and user-naming calls across workspaces', () => {
  let registry: RunningRegistry;
  let a: TestWorkspace;
  let b: TestWorkspace;
  /** Workspace admins of A and B (tokens of every scope), and B's admin signed in to the web UI. */
  let adminA: UserToken;
  let adminB: UserToken;
  let adminBWeb: { user: WebUser; web: WebClient };
  /** Admin of B's repository, but no workspace admin. */
  let repoAdminB: UserToken;
  const operator = () => ({ authorization: registry.operator.authorization });
  const bearer = (who: UserToken) => ({ authorization: `Bearer ${who.token}` });
  const email = (name: string) => `${name}-${randomBytes(4).toString('hex')}@people.example.com`;

  const usersClient = () => adminPortClient(registry, users.UserServiceClient);
  const adminClient = () => adminPortClient(registry, admin.AdminServiceClient);
  const outcome = (work: Promise<unknown>): Promise<Outcome> => work.then(() => 'OK' as const, (err: { code?: string }) => (err.code === 'NAME_UNKNOWN' ? 'NOT_FOUND' : (err.code as Outcome)));

  /** A user as `registryctl user create` makes one (no password, no token), with roles on these repositories. */
  const plainUser = async (name: string, sourceRepositoryIds: string[] = []): Promise<{ id: string; email: string }> => {
    const u = usersClient();
    const m = adminClient();
    try {
      const { user } = await unaryCall(u.createUser.bind(u), { email: email(name), displayName: '' }, operator());
      for (const sourceRepositoryId of sourceRepositoryIds) await unaryCall(m.setMembership.bind(m), { sourceRepositoryId, userId: user!.id, role: admin.Role.ROLE_READ }, operator());
      return { id: user!.id, email: user!.email };
    } finally {
      u.close();
      m.close();
    }
  };
  const link = async (as: { authorization: string }, user: string, workspaceSlug: string, purpose = INVITE) => {
    const client = usersClient();
    try {
      const made = await unaryCall(client.createPasswordLink.bind(client), { user, purpose, expiresInSeconds: 0, workspaceSlug }, as);
      recordSecret(made.secret);
      return made;
    } finally {
      client.close();
    }
  };
  const redeem = (secret: string) => new WebClient(registry.gatewayUrl).request('POST', '/api/v1/password-links/redeem', { secret, password: `pw-${randomBytes(12).toString('base64url')}` });

  beforeAll(async () => {
    registry = await startTestRegistry();
    a = await newWorkspace(registry, 'acme');
    b = await newWorkspace(registry, 'other');
    const workspaceAdmin = async (ws: TestWorkspace) => {
      const created = await createUserWithToken(registry.adminAddress, { email: email(`admin-${ws.slug}`), scopes: ['read:package', 'write:package', 'admin:package'] }, registry.operator.authorization);
      recordSecret(created.token);
      const client = adminClient();
      await unaryCall(client.addWorkspaceAdmin.bind(client), { workspaceSlug: ws.slug, userId: created.userId }, operator()).finally(() => client.close());
      return created;
    };
    adminA = await workspaceAdmin(a);
    adminB = await workspaceAdmin(b);
    repoAdminB = b.admin;
    adminBWeb = await signedIn(registry);
    const client = adminClient();
    await unaryCall(client.addWorkspaceAdmin.bind(client), { workspaceSlug: b.slug, userId: adminBWeb.user.userId }, operator()).finally(() => client.close());
  });

  afterAll(async () => {
    await registry?.stop();
  });

  describe('the takeover as it was found: an admin of workspace B cannot set the password of workspace A\'s user', () => {
    it('registryctl user invite --workspace B of A\'s never-activated member is refused', async () => {
      const victim = await plainUser('secowner', [a.sourceRepositoryId]);
      const ctl = (token: string, ...args: string[]) => run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', token, ...args]);
      await expect(ctl(adminB.token, 'user', 'invite', victim.email, '--workspace', b.slug)).rejects.toThrow(/DENIED: .*already has an account/);
      // The same user, invited by their own workspace's admin: a working link.
      const own = JSON.parse(await ctl(adminA.token, 'user', 'invite', victim.email, '--workspace', a.slug)) as { url: string };
      const secret = own.url.split('#')[1]!;
      recordSecret(secret);
      expect((await redeem(secret)).status).toBe(200);
    });

    it('POST /api/v1/invitations from B\'s admin session is refused with 403, for that user only', async () => {
      const victim = await plainUser('victim', [a.sourceRepositoryId]);
      const refused = await adminBWeb.web.request<{ errors: Array<{ code: string; message: string }> }>('POST', '/api/v1/invitations', { email: victim.email, workspace: b.slug });
      expect([refused.status, refused.body.errors[0]?.code]).toEqual([403, 'DENIED']);
      // The refusal does not say which workspace the user belongs to.
      expect(refused.body.errors[0]?.message).not.toContain(a.slug);
      const fresh = await adminBWeb.web.request<{ url: string }>('POST', '/api/v1/invitations', { email: email('newcomer'), workspace: b.slug });
      expect(fresh.status).toBe(201);
      recordSecret(fresh.body.url.split('#')[1]!);
    });

    it('checks again when the link is used: a user who gained a role elsewhere since cannot redeem a workspace admin\'s invitation', async () => {
      const late = email('late');
      const invited = await link(bearer(adminB), late, b.slug);
      const client = adminClient();
      await unaryCall(client.setMembership.bind(client), { sourceRepositoryId: a.sourceRepositoryId, userId: invited.userId, role: admin.Role.ROLE_READ }, bearer(adminA)).finally(() => client.close());
      const refused = await redeem(invited.secret);
      expect([refused.status, (refused.body as { errors: Array<{ code: string }> }).errors[0]?.code]).toEqual([403, 'DENIED']);
      // Operators keep the power to (re)set anyone's password.
      const reset = await link(operator(), late, '', RESET);
      expect((await redeem(reset.secret)).status).toBe(200);
    });

    it('a made-up secret is refused before any password is hashed (argon2 costs 19 MiB a time)', async () => {
      const madeUp = `ocireg_link_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
      // A too-short password is refused by the hasher's policy: a 404 here means the link was looked up first.
      const refused = await new WebClient(registry.gatewayUrl).request('POST', '/api/v1/password-links/redeem', { secret: madeUp, password: 'short' });
      expect(refused.status).toBe(404);
    });

    it('a password set by one link ends the user\'s other unused links', async () => {
      const who = email('twolinks');
      const first = await link(operator(), who, '', INVITE);
      const second = await link(operator(), who, '', RESET);
      expect((await redeem(second.secret)).status).toBe(200);
      expect((await redeem(first.secret)).status).toBe(404);
    });
  });

  describe('CreatePasswordLink: who may link whom', () => {
    interface Cell {
      name: string;
      as: () => { authorization: string };
      subject: () => Promise<string>;
      workspace: () => string;
      purpose?: users.PasswordLinkPurpose;
      expected: Outcome;
    }
    const cells: Cell[] = [
      { name: 'B admin invites a new person to B', as: () => bearer(adminB), subject: async () => email('new'), workspace: () => b.slug, expected: 'OK' },
      { name: 'B admin invites B\'s never-activated member', as: () => bearer(adminB), subject: async () => (await plainUser('b-only', [b.sourceRepositoryId])).email, workspace: () => b.slug, expected: 'OK' },
      { name: 'B admin invites again someone B\'s invitation created', as: () => bearer(adminB), subject: async () => (await link(bearer(adminB), email('again'), b.slug)).email, workspace: () => b.slug, expected: 'OK' },
      { name: 'B admin invites A\'s never-activated member', as: () => bearer(adminB), subject: async () => (await plainUser('a-only', [a.sourceRepositoryId])).email, workspace: () => b.slug, expected: 'DENIED' },
      { name: 'B admin invites a member of both A and B', as: () => bearer(adminB), subject: async () => (await plainUser('both', [a.sourceRepositoryId, b.sourceRepositoryId])).email, workspace: () => b.slug, expected: 'DENIED' },
      { name: 'B admin invites someone with no role anywhere (made by an operator)', as: () => bearer(adminB), subject: async () => (await plainUser('nowhere')).email, workspace: () => b.slug, expected: 'DENIED' },
      { name: 'B admin invites someone A\'s invitation created', as: () => bearer(adminB), subject: async () => (await link(bearer(adminA), email('a-invited'), a.slug)).email, workspace: () => b.slug, expected: 'DENIED' },
      {
        name: 'B admin invites B\'s member who has an API token',
        as: () => bearer(adminB),
        subject: async () => {
          const created = await createUserWithToken(registry.adminAddress, { email: email('has-token'), scopes: ['read:package'], sourceRepositoryId: b.sourceRepositoryId, role: 'read' }, registry.operator.authorization);
          recordSecret(created.token);
          return created.email;
        },
        workspace: () => b.slug,
        expected: 'DENIED',
      },
      {
        name: 'B admin invites B\'s member who has a password',
        as: () => bearer(adminB),
        subject: async () => (await signedIn(registry, { sourceRepositoryId: b.sourceRepositoryId, role: 'read' })).user.email,
        workspace: () => b.slug,
        expected: 'DENIED',
      },
      { name: 'B admin invites an operator', as: () => bearer(adminB), subject: async () => registry.operator.email, workspace: () => b.slug, expected: 'DENIED' },
      { name: 'B admin invites to workspace A', as: () => bearer(adminB), subject: async () => email('new'), workspace: () => a.slug, expected: 'DENIED' },
      { name: 'B admin without naming a workspace', as: () => bearer(adminB), subject: async () => email('new'), workspace: () => '', expected: 'DENIED' },
      { name: 'B admin makes a reset link for B\'s member', as: () => bearer(adminB), subject: async () => (await plainUser('b-reset', [b.sourceRepositoryId])).email, workspace: () => b.slug, purpose: RESET, expected: 'DENIED' },
      { name: 'Admin of B\'s repository (no workspace admin) invites to B', as: () => bearer(repoAdminB), subject: async () => email('new'), workspace: () => b.slug, expected: 'DENIED' },
      { name: 'operator invites A\'s member', as: operator, subject: async () => (await plainUser('op-a', [a.sourceRepositoryId])).email, workspace: () => '', expected: 'OK' },
      { name: 'operator resets the password of a member of both', as: operator, subject: async () => (await plainUser('op-both', [a.sourceRepositoryId, b.sourceRepositoryId])).email, workspace: () => '', purpose: RESET, expected: 'OK' },
    ];
    it.each(cells.map((cell) => [`${cell.name} -> ${cell.expected}`, cell] as const))('%s', async (_, cell) => {
      const subject = await cell.subject();
      expect(await outcome(link(cell.as(), subject, cell.workspace(), cell.purpose ?? INVITE))).toBe(cell.expected);
    });
  });

  describe('every other call that names a user, as the admin of another workspace', () => {
    let victim: UserToken;
    /** A second token of the victim's, for the revocation cell. */
    let spareTokenId: string;
    /** A member of A, removed by the removal cell. */
    let member: { id: string };
    beforeAll(async () => {
      victim = await createUserWithToken(registry.adminAddress, { email: email('victim'), scopes: ['read:package', 'write:package'], sourceRepositoryId: a.sourceRepositoryId, role: 'write' }, registry.operator.authorization);
      recordSecret(victim.token);
      const client = usersClient();
      const spare = await unaryCall(client.createToken.bind(client), { userId: victim.userId, name: 'spare', expiresInSeconds: 3600, scopes: ['read:package'] }, operator()).finally(() => client.close());
      recordSecret(spare.secret);
      spareTokenId = spare.token!.id;
      member = await plainUser('member', [a.sourceRepositoryId]);
    });
    const userCall = (name: 'getUser' | 'createToken' | 'listTokens' | 'revokeToken', request: () => Record<string, unknown>) => (as: { authorization: string }) => {
      const client = usersClient();
      const method = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!.bind(client) as never;
      return outcome(unaryCall(method, request(), as).finally(() => client.close()));
    };
    const adminCall = (name: 'setMembership' | 'removeMembership' | 'getEffectiveRole' | 'addWorkspaceAdmin', request: () => Record<string, unknown>) => (as: { authorization: string }) => {
      const client = adminClient();
      const method = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!.bind(client) as never;
      return outcome(unaryCall(method, request(), as).finally(() => client.close()));
    };
    // Each call as B's admin, then A's admin, then an operator (in that order: the removal is done once).
    const calls: Array<{ name: string; run: (as: { authorization: string }) => Promise<Outcome>; expected: [Outcome, Outcome, Outcome] }> = [
      { name: 'UserService.getUser', run: userCall('getUser', () => ({ email: victim.email })), expected: ['NOT_FOUND', 'NOT_FOUND', 'OK'] },
      { name: 'UserService.createToken for the user', run: userCall('createToken', () => ({ userId: victim.email, name: 'stolen', expiresInSeconds: 3600, scopes: ['read:package'] })), expected: ['NOT_FOUND', 'NOT_FOUND', 'OK'] },
      { name: 'UserService.listTokens of the user', run: userCall('listTokens', () => ({ userId: victim.email })), expected: ['NOT_FOUND', 'NOT_FOUND', 'OK'] },
      { name: 'UserService.revokeToken of the user\'s token', run: userCall('revokeToken', () => ({ tokenId: spareTokenId })), expected: ['NOT_FOUND', 'NOT_FOUND', 'OK'] },
      { name: 'AdminService.getEffectiveRole of the user', run: adminCall('getEffectiveRole', () => ({ userId: victim.userId, fullName: `${a.slug}/app` })), expected: ['DENIED', 'OK', 'OK'] },
      { name: 'AdminService.setMembership of the user in A', run: adminCall('setMembership', () => ({ sourceRepositoryId: a.sourceRepositoryId, userId: victim.userId, role: admin.Role.ROLE_WRITE })), expected: ['DENIED', 'OK', 'OK'] },
      { name: 'AdminService.removeMembership of A\'s member', run: adminCall('removeMembership', () => ({ sourceRepositoryId: a.sourceRepositoryId, userId: member.id })), expected: ['DENIED', 'OK', 'NOT_FOUND'] },
      { name: 'AdminService.addWorkspaceAdmin of B\'s admin to A', run: adminCall('addWorkspaceAdmin', () => ({ workspaceSlug: a.slug, userId: adminB.userId })), expected: ['DENIED', 'OK', 'OK'] },
    ];
    it.each(calls.map((c) => [`${c.name}: B's admin -> ${c.expected[0]}, A's admin -> ${c.expected[1]}, operator -> ${c.expected[2]}`, c] as const))('%s', async (_, c) => {
      const seen: Outcome[] = [];
      for (const as of [bearer(adminB), bearer(adminA), operator()]) seen.push(await c.run(as));
      expect(seen).toEqual(c.expected);
    });

    it('JSON routes: B\'s admin session cannot revoke, invite or change A\'s user', async () => {
      const web = adminBWeb.web;
      expect((await web.request('DELETE', `/api/v1/tokens/${victim.tokenId}`)).status).toBe(404);
      expect((await web.request('POST', '/api/v1/invitations', { email: victim.email, workspace: b.slug })).status).toBe(403);
      expect((await web.request('POST', '/api/v1/invitations', { email: victim.email, workspace: b.slug, purpose: 'reset' })).status).toBe(403);
      expect((await web.request('PUT', `/api/v1/repositories/${a.sourceRepositoryId}/members`, { user: victim.email, role: 'read' })).status).toBe(403);
      // The victim's token still works: nothing above touched it.
      expect((await fetch(`${registry.gatewayUrl}/v2/`, { headers: { Authorization: basicAuth(victim) } })).status).toBe(200);
    });
  });
});
