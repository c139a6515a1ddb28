import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { runMigrations } from '@ocireg/postgres';
import { CredentialEvents, type CredentialEvent } from './credential-events';
import { MemoryLoginLimiter } from './login-limiter';
import { PasswordLinks } from './password-links';
import { PasswordSignIn } from './password-sign-in';
import { PasswordStore } from './password-store';
import { PasswordHasher } from './passwords';
import { SecretHasher } from './secret-hasher';
import { SessionStore } from './session-store';
import { TokenStore } from './token-store';

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}@example.com`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('web UI sign-in against PostgreSQL: sessions, password links, limits', () => {
  let pool: Pool;
  let users: TokenStore;
  const secrets = new SecretHasher('a pepper of sixteen+ characters');
  const hasher = new PasswordHasher();
  let passwords: PasswordStore;

  beforeAll(async () => {
    await runMigrations({ databaseUrl: process.env.DATABASE_URL!, dir: path.resolve(__dirname, '../migrations'), table: 'auth_pgmigrations', logger: createLogger({ service: 'test', level: 'silent' }) });
    pool = new Pool({ connectionString: process.env.DATABASE_URL });
    users = new TokenStore(pool, 'a pepper of sixteen+ characters', 365);
    passwords = new PasswordStore(pool);
  });

  afterAll(async () => {
    await pool?.end();
  });

  it('stores only an HMAC of the session secret, resumes it, ends it at sign-out', async () => {
    const sessions = new SessionStore(pool, secrets, { idleSeconds: 3600, maxAgeSeconds: 7200 });
    const user = await users.createUser(unique('s'), '');
    const { secret, session } = await sessions.create(user.id, 'password', { ip: '203.0.113.5', userAgent: 'test' });
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { rows } = await pool.query<{ secret_hash: Buffer }>('SELECT secret_hash FROM auth_sessions WHERE id = $1', [session.id]);
    expect(rows[0]!.secret_hash.equals(secrets.hash(secret))).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect((await sessions.resume(secret))?.user.email).toBe(user.email);
    expect(await sessions.resume(`${secret.slice(0, -1)}A`)).toBeUndefined();
    // The CSRF token is bound to the session and reveals nothing of it.
    expect(sessions.csrfToken(secret)).not.toBe(sessions.csrfToken(randomBytes(32).toString('base64url')));
    expect(sessions.csrfToken(secret)).not.toContain(secret.slice(0, 10));
    expect((await sessions.end(secret))?.id).toBe(session.id);
    expect(await sessions.resume(secret)).toBeUndefined();
    expect(await sessions.end(secret)).toBeUndefined();
  });

  it('ends a session left idle, and one past its absolute age even while used', async () => {
    const user = await users.createUser(unique('idle'), '');
    const idle = new SessionStore(pool, secrets, { idleSeconds: 1, maxAgeSeconds: 3600 });
    const left = await idle.create(user.id, 'password', { ip: '', userAgent: '' });
    await sleep(1200);
    expect(await idle.resume(left.secret)).toBeUndefined();

    const short = new SessionStore(pool, secrets, { idleSeconds: 3600, maxAgeSeconds: 2 });
    const busy = await short.create(user.id, 'password', { ip: '', userAgent: '' });
    for (let i = 0; i < 3; i++) {
      expect(await short.resume(busy.secret)).toBeDefined();
      await sleep(500);
    }
    await sleep(800);
    expect(await short.resume(busy.secret)).toBeUndefined();
  });

  it('password links: secret stored as a hash, single use, replaced by a newer one, expiring', async () => {
    const links = new PasswordLinks(pool, secrets);
    const user = await users.createUser(unique('link'), '');
    const first = await links.create(user.id, 'invite', 0, '');
    const second = await links.create(user.id, 'invite', 0, '');
    expect(await links.inspect(first.secret)).toBeUndefined(); // replaced
    expect((await links.inspect(second.secret))?.email).toBe(user.email);
    const { rows } = await pool.query('SELECT * FROM auth_password_links WHERE user_id = $1', [user.id]);
    expect(JSON.stringify(rows)).not.toContain(second.secret.slice(-43));
    const hash = await hasher.hash('a long enough password');
    await links.redeem(second.secret, (link, client) => passwords.set(link.userId, hash, client));
    expect(await passwords.hashOf(user.id)).toBe(hash);
    await expect(links.redeem(second.secret, async () => undefined)).rejects.toThrow(/already used|expired|unknown/);
    // Two redemptions racing: one wins.
    const third = await links.create(user.id, 'reset', 0, '');
    const outcomes = await Promise.allSettled([links.redeem(third.secret, async () => undefined), links.redeem(third.secret, async () => undefined)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    await expect(links.create(user.id, 'reset', 31 * 86_400, '')).rejects.toThrow(/30 days/);
    const expiring = await links.create(user.id, 'reset', 60, '');
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
    const signIn = new PasswordSignIn({ users, passwords, hasher, limiter, sessions, events, enabled: true });
    const user = await users.createUser(unique('limit'), '');
    await passwords.set(user.id, await hasher.hash('the right password'));
    const attacker = { ip: '198.51.100.66', userAgent: 'x' };
    await expect(signIn.signIn(user.email, 'guess one guess one', attacker)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(signIn.signIn(user.email, 'guess two guess two', attacker)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(signIn.signIn(user.email, 'guess three guess 3', attacker)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    // Over the limit the password is not even checked: the right one is refused too.
    await expect(signIn.signIn(user.email, 'the right password', attacker)).rejects.toMatchObject({ code: 'TOOMANYREQUESTS' });
    // The user, from their own address, is not locked out.
    const opened = await signIn.signIn(user.email.toUpperCase(), 'the right password', { ip: '203.0.113.10', userAgent: 'x' });
    expect(opened.session).toMatchObject({ userId: user.id, provider: 'password' });
    // Each sign-in is a credential event (the failures are not: the limiter counts them).
    expect(recorded).toEqual([{ kind: 'sign-in', actor: user.id, provider: 'password', sessionId: opened.session.id, email: user.email, clientIp: '203.0.113.10' }]);
    // An operator turned password sign-in off: even the right password is refused.
    const off = new PasswordSignIn({ users, passwords, hasher, limiter, sessions, events, enabled: false });
    await expect(off.signIn(user.email, 'the right password', { ip: '203.0.113.12', userAgent: 'x' })).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('password sign-in is turned off') });
    // An unknown email answers like a wrong password.
    await expect(signIn.signIn(unique('nobody'), 'whatever password', { ip: '203.0.113.11', userAgent: 'x' })).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: 'wrong email or password' });
  });
});
