import type { Pool } from 'pg';
import type { AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { SERVICE_ACCOUNT_DOMAIN, type TokenStore, type UserRecord } from './token-store';

/**
 * Who signs in through an identity provider: the user the provider's subject
 * was linked to at an earlier sign-in; else the user with that (verified)
 * email, now linked; else a new user, created just in time. A service
 * account is never reached this way (its login name is no one's email).
 */
export class OidcAccounts {
  constructor(
    private readonly pool: Pool,
    private readonly users: TokenStore,
  ) {}

  async userFor(provider: string, subject: string, email: string, displayName: string, origin: AuditOrigin): Promise<{ user: UserRecord; created: boolean }> {
    const normalized = email.trim().toLowerCase();
    if (normalized.endsWith(`.${SERVICE_ACCOUNT_DOMAIN}`)) throw new RegistryError('DENIED', 'sign-in refused: that email names a service account');
    const { rows } = await this.pool.query<{ user_id: string }>(
      'UPDATE auth_user_identities SET last_sign_in_at = now(), email = $3 WHERE provider = $1 AND subject = $2 RETURNING user_id',
      [provider, subject, normalized],
    );
    if (rows[0]) {
      const [linked] = await this.users.lookupUsers([rows[0].user_id]);
      if (!linked) throw new RegistryError('DENIED', 'sign-in refused: the user this identity belonged to was removed');
      return { user: linked, created: false };
    }
    let created = false;
    let user = await this.users.userByEmail(normalized);
    if (!user) {
      try {
        user = await this.users.createUser(normalized, displayName.slice(0, 200), origin);
        created = true;
      } catch (err) {
        // Someone else's first sign-in with the same email won the race.
        if (!(err instanceof RegistryError && err.code === 'ALREADY_EXISTS')) throw err;
        user = await this.users.userByEmail(normalized);
        if (!user) throw err;
      }
    }
    await this.pool.query('INSERT INTO auth_user_identities (provider, subject, user_id, email) VALUES ($1, $2, $3, $4) ON CONFLICT (provider, subject) DO NOTHING', [provider, subject, user.id, normalized]);
    return { user, created };
  }
}
