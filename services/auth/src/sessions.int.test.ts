import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { CredentialEvents, type CredentialEvent } from './credential-events';
import { FailedLogins } from './failed-logins';
import { migrate } from './migrate';
import { systemOrigin } from './change-origin';
import { MemoryLoginLimiter } from './login-limiter';
import { PasswordLinks } from './password-links';
import { PasswordSignIn } from './password-sign-in';
import { PasswordStore } from './password-store';
import { PasswordHasher } from './passwords';
import { SecretHasher } from './secret-hasher';
import { SessionStore } from './session-store';
import { TokenStore } from './token-store';

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}@example.com`;
/** What these tests change is audited as made by "test". */
const origin = systemOrigin('test');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('web UI sign-in against PostgreSQL: sessions, password links, limits', () => {
  let pool: Pool;
  let users: TokenStore;
  const secrets = new SecretHasher('a pepper of sixteen+ characters');
  const hasher = new PasswordHasher();
  let passwords: PasswordStore;

  beforeAll(async () => {
    await migrate(process.env.DATABASE_URL!, createLogger({ service: 'test', level: 'silent' }));
    pool = new Pool({ connectionString: process.env.DATABASE_URL });
    users = new TokenStore(pool, 'a pepper of sixteen+ characters', 365);
    passwords = new PasswordStore(pool);
  });

  afterAll(async () => {
    await pool?.end();
  });

  it('stores only an HMAC of the session secret, resumes it, ends it at sign-out', async () => {
    const sessions = new SessionStore(pool, secrets, { idleSeconds: 3600, maxAgeSeconds: 7200 });
    const user = await users.createUser(unique('s'), '', origin);
    const { secret, session } = await sessions.create(user, 'password', { ip: '203.0.113.5', userAgent: 'test' }, origin);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { rows } = await pool.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM auth_sessions WHERE id = $1', [session.id]);
    expect(rows[0]!.secret_hash.equals(secrets.hash(secret))).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect((await sessions.resume(secret))?.user.email).toBe(user.email);
    // Another last character (whichever the secret had: a fixed one would be it one draw in 16).
    expect(await sessions.resume(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    // The CSRF token is bound to the session and reveals nothing of it.
    expect(sessions.csrfToken(secret)).not.toBe(sessions.csrfToken(randomBytes(32).toString('base64url')));
    expect(sessions.csrfToken(secret)).not.toContain(secret.slice(0, 10));
    expect((await sessions.end(secret, origin))?.id).toBe(session.id);
    expect(await sessions.resume(secret)).toBeUndefined();
    expect(await sessions.end(secret, origin)).toBeUndefined();
  });

  it('ends a session left idle, and one past its absolute age even while used', async () => {
    const user = await users.createUser(unique('idle'), '', origin);
    const idle = new SessionStore(pool, secrets, { idleSeconds: 1, maxAgeSeconds: 3600 });
    const left = await idle.create(user, 'password', { ip: '', userAgent: '' }, origin);
    await sleep(1200);
    expect(await idle.resume(left.secret)).toBeUndefined();

    const short = new SessionStore(pool, secrets, { idleSeconds: 3600, maxAgeSeconds: 2 });
    const busy = await short.create(user, 'password', { ip: '', userAgent: '' }, origin);
    for (let i = 0; i < 3; i++) {
      expect(await short.resume(busy.secret)).toBeDefined();
      await sleep(500);
    }
    await sleep(800);
    expect(await short.resume(busy.secret)).toBeUndefined();
  });

  it('password links: secret stored as a hash, single use, replaced by a newer one, expiring', async () => {
    const links = new PasswordLinks(pool, secrets);
    const user = await users.createUser(unique('link'), '', origin);
    const first = await links.create(user, 'invite', 0, origin);
    const second = await links.create(user, 'invite', 0, origin);
    expect(await links.inspect(first.secret)).toBeUndefined(); // replaced
    expect((await links.inspect(second.secret))?.email).toBe(user.email);
    const { rows } = await pool.query('SELECT * FROM auth_password_links WHERE user_id = $1', [user.id]);
    expect(JSON.stringify(rows)).not.toContain(second.secret.slice(-43));
    const hash = await hasher.hash('a long enough password');
    await links.redeem(second.secret, origin, async (link, client) => {
      await passwords.set(link.userId, hash, client);
      return {};
    });
    expect(await passwords.hashOf(user.id)).toBe(hash);
    await expect(links.redeem(second.secret, origin, async () => ({}))).rejects.toThrow(/already used|expired|unknown/);
    // Two redemptions racing: one wins.
    const third = await links.create(user, 'reset', 0, origin);
    const outcomes = await Promise.allSettled([links.redeem(third.secret, origin, async () => ({})), links.redeem(third.secret, origin, async () => ({}))]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    await expect(links.create(user, 'reset', 31 * 86_400, origin)).rejects.toThrow(/30 days/);
    const expiring = await links.create(user, 'reset', 60, origin);
    await pool.query("UPDATE auth_password_links SET expires_at = now() - interval '1 second' WHERE id = $1", [expiring.secret.split('_')[2]]);
    expect(await links.inspect(expiring.secret)).toBeUndefined();
  });

  it('sign-in: refuses wrong passwords, then over the limit refuses even the right one from that address, but not from another', async () => {
    const sessions = new SessionStore(pool, secrets, { idleSeconds: 3600, maxAgeSeconds: 7200 });
    const limiter = new MemoryLoginLimiter({ perAccountAndIp: 2, perIp: 100 });
    const recorded: CredentialEvent[] = [];
    const events = new (class extends CredentialEvents {
      override record(event: CredentialEvent): void {
        recorded.push(event);
      }
    })(createLogger({ service: 'test', level: 'silent' }));
    const failures = new FailedLogins(pool);
    const signIn = new PasswordSignIn({ users, passwords, hasher, limiter, sessions, events, failures, enabled: true });
    const user = await users.createUser(unique('limit'), '', origin);
    await passwords.set(user.id, await hasher.hash('the right password'));
    const attacker = { ip: '198.51.100.66', userAgent: 'x' };
    await expect(signIn.signIn(user.email, 'guess one guess one', attacker, origin)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(signIn.signIn(user.email, 'guess two guess two', attacker, origin)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(signIn.signIn(user.email, 'guess three guess 3', attacker, origin)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    // Over the limit the password is not even checked: the right one is refused too.
    await expect(signIn.signIn(user.email, 'the right password', attacker, origin)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    // The user, from their own address, is not locked out.
    const opened = await signIn.signIn(user.email.toUpperCase(), 'the right password', { ip: '203.0.113.10', userAgent: 'x' }, origin);
    expect(opened.session).toMatchObject({ userId: user.id, provider: 'password' });
    // Each sign-in is a credential event (the failures are not: the limiter counts them, and the audit log has them).
    expect(recorded).toEqual([{ kind: 'sign-in', actor: user.id, provider: 'password', sessionId: opened.session.id, email: user.email, clientIp: '203.0.113.10' }]);
    // An operator turned password sign-in off: even the right password is refused.
    const off = new PasswordSignIn({ users, passwords, hasher, limiter, sessions, events, failures, enabled: false });
    await expect(off.signIn(user.email, 'the right password', { ip: '203.0.113.12', userAgent: 'x' }, origin)).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('password sign-in is turned off') });
    // An unknown email answers like a wrong password.
    await expect(signIn.signIn(unique('nobody'), 'whatever password', { ip: '203.0.113.11', userAgent: 'x' }, origin)).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: 'wrong email or password' });
    // Each attempt is in the audit log: the refusals with the address, never the password tried.
    const { rows } = await pool.query<{ action: string; outcome: string; client_address: string; actor_user_id: string; after: { reason: string } }>(
      "SELECT action, outcome, client_address, actor_user_id, after FROM audit_log WHERE target_name = $1 AND chain = 'auth' AND action = 'session.sign-in' ORDER BY seq",
      [user.email],
    );
    expect(rows.map((r) => [r.action, r.outcome, r.client_address])).toEqual([
      ['session.sign-in', 'failure', '198.51.100.66'],
      ['session.sign-in', 'failure', '198.51.100.66'],
      ['session.sign-in', 'failure', '198.51.100.66'],
      ['session.sign-in', 'failure', '198.51.100.66'],
      ['session.sign-in', 'success', '203.0.113.10'],
      // Refused because an operator turned passwords off.
      ['session.sign-in', 'failure', '203.0.113.12'],
    ]);
    expect(rows[3]!.after.reason).toMatch(/not checked/);
    expect(rows[4]!.actor_user_id).toBe(user.id);
    const { rows: all } = await pool.query('SELECT * FROM audit_log');
    expect(JSON.stringify(all)).not.toMatch(/guess|the right password/);
  });
});
