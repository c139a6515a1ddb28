import type { AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { CI_USERNAME, type CiIdentities, type CiLogin } from './ci-identity';
import type { FailedLogins } from './failed-logins';
import type { LoginLimiter } from './login-limiter';
import type { TokenRecord, TokenStore, UserRecord } from './token-store';

/** The username of `docker login` with a repository token (it names no person). */
export const REPOSITORY_TOKEN_USERNAME = 'repository-token';

/** Who a registry login is: a user with one of their tokens, or a source repository's token. */
export type RegistryLogin =
  | { kind: 'user'; token: TokenRecord; user: UserRecord }
  | { kind: 'repository'; token: TokenRecord; sourceRepositoryId: string }
  /** A CI job with its ID token (username CI_USERNAME). */
  | { kind: 'ci'; login: CiLogin };

/**
 * Checks an API token presented as a login (docker's Basic email + token, or
 * a bare token on the admin port). A correct token always passes; a wrong one
 * is counted (and audited), and over the limits answers 429 instead of 401.
 */
export class CredentialChecker {
  constructor(private readonly deps: { store: TokenStore; limiter: LoginLimiter; failures: FailedLogins; ci?: CiIdentities }) {}

  /**
   * A user's API token (the admin port, the JSON API, docker login). `email`
   * is checked against the token's owner when given (docker login names the
   * user). Repository tokens act on the registry API only.
   */
  async apiToken(secret: string, clientIp: string, origin: AuditOrigin, email?: string): Promise<{ token: TokenRecord; user: UserRecord }> {
    const verified = await this.deps.store.verify(secret);
    if (verified && !verified.user) throw new RegistryError('UNAUTHORIZED', `a repository token works only with the registry API: docker login --username ${REPOSITORY_TOKEN_USERNAME}`);
    if (verified?.user && (email === undefined || verified.user.email === email.trim().toLowerCase())) return { token: verified.token, user: verified.user };
    return this.refuse(secret, clientIp, origin, email);
  }

  /**
   * A registry login (docker's Basic credentials): a user's token with their
   * email, a repository token with REPOSITORY_TOKEN_USERNAME, or a CI job's
   * ID token with CI_USERNAME (its refusals say which check failed).
   */
  async registryLogin(secret: string, clientIp: string, origin: AuditOrigin, username: string): Promise<RegistryLogin> {
    if (username.trim().toLowerCase() === CI_USERNAME && this.deps.ci) {
      try {
        return { kind: 'ci', login: await this.deps.ci.login(secret) };
      } catch (err) {
        if (!(err instanceof RegistryError) || err.code !== 'UNAUTHORIZED') throw err;
        const limited = await this.deps.limiter.failed(CI_USERNAME, clientIp);
        await this.deps.failures.record(origin, { action: 'token.login', account: CI_USERNAME, reason: limited ? 'too many failed logins' : err.message.slice(0, 300) });
        if (limited) throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins from this address; try again in a few minutes');
        throw err;
      }
    }
    if (username.trim().toLowerCase() !== REPOSITORY_TOKEN_USERNAME) return { kind: 'user', ...(await this.apiToken(secret, clientIp, origin, username)) };
    const verified = await this.deps.store.verify(secret);
    if (verified && !verified.user) return { kind: 'repository', token: verified.token, sourceRepositoryId: verified.token.sourceRepositoryId };
    return this.refuse(secret, clientIp, origin, username);
  }

  /** A wrong credential: counted and audited; over the limits 429 instead of 401. */
  private async refuse(secret: string, clientIp: string, origin: AuditOrigin, username?: string): Promise<never> {
    // The account a guess is aimed at: the username, or the token id a secret starts with.
    const account = username ?? /^ocireg_([a-f0-9]{16})_/.exec(secret)?.[1] ?? '';
    const limited = await this.deps.limiter.failed(account, clientIp);
    await this.deps.failures.record(origin, { action: 'token.login', account, reason: limited ? 'too many failed logins' : 'unknown, expired or revoked token' });
    if (limited) throw new RegistryError('TOOMANYREQUESTS', 'too many failed logins from this address; try again in a few minutes');
    throw new RegistryError('UNAUTHORIZED', username === undefined ? 'the API token is unknown, expired or revoked' : 'invalid username or token');
  }
}
