import type { AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import type { FailedLogins } from './failed-logins';
import type { LoginLimiter } from './login-limiter';
import type { TokenRecord, TokenStore, UserRecord } from './token-store';

/**
 * Checks an API token presented as a login (docker's Basic email + token, or
 * a bare token on the admin port). A correct token always passes; a wrong one
 * is counted (and audited), and over the limits answers 429 instead of 401.
 */
export class CredentialChecker {
  constructor(private readonly deps: { store: TokenStore; limiter: LoginLimiter; failures: FailedLogins }) {}

  /** `email` is checked against the token's owner when given (docker login names the user). */
  async apiToken(secret: string, clientIp: string, origin: AuditOrigin, email?: string): Promise<{ token: TokenRecord; user: UserRecord }> {
    const verified = await this.deps.store.verify(secret);
    if (verified && (email === undefined || verified.user.email === email.trim().toLowerCase())) return verified;
    // The account a guess is aimed at: the email, or the token id a secret starts with.
    const account = email ?? /^ocireg_([a-f0-9]{16})_/.exec(secret)?.[1] ?? '';
    const limited = await this.deps.limiter.failed(account, clientIp);
    await this.deps.failures.record(origin, { action: 'token.login', account, reason: limited ? 'too many failed logins' : 'unknown, expired or revoked token' });
    if (limited) throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins from this address; try again in a few minutes');
    throw new RegistryError('UNAUTHORIZED', email === undefined ? 'the API token is unknown, expired or revoked' : 'invalid username or token');
  }
}
