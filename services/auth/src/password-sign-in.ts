import type { AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import type { CredentialEvents } from './credential-events';
import type { FailedLogins } from './failed-logins';
import type { LoginLimiter } from './login-limiter';
import type { PasswordHasher } from './passwords';
import type { PasswordStore } from './password-store';
import type { SessionRecord, SessionStore } from './session-store';
import type { TokenStore } from './token-store';

/**
 * Sign-in with an email and a password. Under the failed-login limits (per
 * account from one address, per address), and stricter than API tokens: once
 * over a limit, a password is refused without being checked, so guessing
 * stops. Someone guessing from another address never blocks the user's own
 * address. Unknown emails cost the same time and answer the same as wrong passwords.
 * Every sign-in is audited: a session opened, or a refusal and why.
 */
export class PasswordSignIn {
  constructor(
    private readonly deps: { users: TokenStore; passwords: PasswordStore; hasher: PasswordHasher; limiter: LoginLimiter; sessions: SessionStore; events: CredentialEvents; failures: FailedLogins; enabled: boolean },
  ) {}

  get enabled(): boolean {
    return this.deps.enabled;
  }

  async signIn(email: string, password: string, client: { ip: string; userAgent: string }, origin: AuditOrigin): Promise<{ secret: string; session: SessionRecord }> {
    const account = email.trim().toLowerCase();
    const { users, passwords, hasher, limiter, sessions, events, failures } = this.deps;
    const where = { ...origin, clientAddress: origin.clientAddress || client.ip, userAgent: origin.userAgent || client.userAgent };
    const refused = (reason: string) => failures.record(where, { action: 'session.sign-in', account: account.slice(0, 320), reason });
    if (!this.deps.enabled) {
      await refused('password sign-in is turned off');
      throw new RegistryError('DENIED', 'password sign-in is turned off here: sign in with your identity provider');
    }
    if (await limiter.blocked(account, client.ip)) {
      await refused('too many failed sign-ins (the password was not checked)');
      throw tooMany();
    }
    const user = account ? await users.userByEmail(account) : undefined;
    const stored = user ? await passwords.hashOf(user.id) : undefined;
    const ok = await hasher.verify(stored, password);
    if (!ok || !user) {
      const limited = await limiter.failed(account, client.ip);
      await refused(limited ? 'wrong email or password; now over the limit' : 'wrong email or password');
      if (limited) throw tooMany();
      throw new RegistryError('UNAUTHORIZED', 'wrong email or password');
    }
    const opened = await sessions.create(user, 'password', client, origin);
    events.record({ kind: 'sign-in', actor: user.id, provider: 'password', sessionId: opened.session.id, email: user.email, clientIp: client.ip });
    return opened;
  }
}

function tooMany(): RegistryError {
  return new RegistryError('TOOMANYREQUESTS', 'too many failed sign-ins from this address; try again in a few minutes');
}
