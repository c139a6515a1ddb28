import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import { recordAudit, type AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import { TOKEN_SCOPES } from './scopes';

export interface UserRecord {
  id: string;
  /** A person's email, or a service account's login name (<name>@<workspace>.service-account.invalid). */
  email: string;
  displayName: string;
  createdAt: string;
  /** A service account: the workspace it belongs to; "" for a person. */
  serviceAccountWorkspace: string;
}

/** Service accounts' login names end so (a reserved, undeliverable domain: no person has such an email). */
export const SERVICE_ACCOUNT_DOMAIN = 'service-account.invalid';

export interface TokenRecord {
  id: string;
  /** The user it belongs to, or "" for a repository token. */
  userId: string;
  /** A repository token: the source repository it belongs to; "" for a user's token. */
  sourceRepositoryId: string;
  /** Who made it (a user id), or "". */
  createdBy: string;
  name: string;
  scopes: string[];
  expiresAt: string;
  createdAt: string;
  revokedAt: string;
  /** The token this one was created with, or "". */
  parentTokenId: string;
}

/** What a new token may be at most: the token that creates it (undefined: an operator's bootstrap or a UI session). */
export interface TokenCreator {
  tokenId: string;
}

/** Whose a token is: a user's, or a source repository's (a repository token, which no person owns). */
export type TokenOwner = { userId: string } | { sourceRepositoryId: string };

/** Scopes a repository token may carry: it pulls, and perhaps pushes, the repository's packages. */
export const REPOSITORY_TOKEN_SCOPES = ['read:package', 'write:package'] as const;

interface TokenRow {
  id: string;
  user_id: string | null;
  source_repository_id: string | null;
  created_by: string | null;
  name: string;
  scopes: string[];
  secret_hash: Buffer;
  expires_at: Date;
  revoked_at: Date | null;
  created_at: Date;
  parent_token_id: string | null;
}

export interface UserRow {
  id: string;
  email: string;
  display_name: string;
  created_at: Date;
  service_account_workspace: string | null;
}

export const toUser = (row: UserRow): UserRecord => ({
  id: row.id,
  email: row.email,
  displayName: row.display_name,
  createdAt: row.created_at.toISOString(),
  serviceAccountWorkspace: row.service_account_workspace ?? '',
});

const toToken = (row: TokenRow): TokenRecord => ({
  id: row.id,
  userId: row.user_id ?? '',
  sourceRepositoryId: row.source_repository_id ?? '',
  createdBy: row.created_by ?? '',
  name: row.name,
  scopes: row.scopes,
  expiresAt: row.expires_at.toISOString(),
  createdAt: row.created_at.toISOString(),
  revokedAt: row.revoked_at?.toISOString() ?? '',
  parentTokenId: row.parent_token_id ?? '',
});

/** "ocireg_<id>_<secret>": the id finds the row, the whole string is checked against its HMAC. */
const SECRET_FORMAT = /^ocireg_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,190}$/;
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Source repositories are metadata's, named by UUID too. */
const SOURCE_REPOSITORY_ID = USER_ID;

function invalid(field: string, problem: string): RegistryError {
  return new RegistryError('INVALID_ARGUMENT', `${field}: ${problem}`, { field });
}

/** Users and API tokens. Token secrets are never stored: only HMAC-SHA256(pepper, secret). Each change is audited in its transaction. */
export class TokenStore {
  constructor(
    private readonly pool: Pool,
    private readonly pepper: string,
    private readonly maxTokenDays: number,
  ) {}

  private hash(secret: string): Buffer {
    return createHmac('sha256', this.pepper).update(secret).digest();
  }

  /** A new user; `invitedToWorkspace` when a workspace admin's invitation creates them (InvitationPolicy). */
  async createUser(email: string, displayName: string, origin: AuditOrigin, invitedToWorkspace?: string): Promise<UserRecord> {
    const normalized = email.trim().toLowerCase();
    if (!EMAIL.test(normalized)) throw invalid('email', 'is not an email address');
    if (normalized.endsWith(`.${SERVICE_ACCOUNT_DOMAIN}`)) throw invalid('email', `${SERVICE_ACCOUNT_DOMAIN} names service accounts (CreateServiceAccount)`);
    const name = displayName.trim() || normalized;
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string; created_at: Date }>(
        'INSERT INTO auth_users (email, display_name, invited_to_workspace) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING RETURNING id, created_at',
        [normalized, name, invitedToWorkspace ?? null],
      );
      if (!rows[0]) throw new RegistryError('ALREADY_EXISTS', `user ${normalized} already exists`, { field: 'email' });
      await recordAudit(client, origin, {
        action: 'user.created',
        workspace: invitedToWorkspace,
        target: { type: 'user', id: rows[0].id, name: normalized },
        after: { displayName: name, ...(invitedToWorkspace ? { invitedToWorkspace } : {}) },
      });
      return { id: rows[0].id, email: normalized, displayName: name, createdAt: rows[0].created_at.toISOString(), serviceAccountWorkspace: '' };
    });
  }

  /** The workspace whose admin's invitation created a user, if one did. */
  async invitedToWorkspace(userId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ invited_to_workspace: string | null }>('SELECT invited_to_workspace FROM auth_users WHERE id = $1', [userId]);
    return rows[0]?.invited_to_workspace ?? undefined;
  }

  /** Whether a user ever had an API token (revoked and expired ones count: the account was used). */
  async hasHadTokens(userId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM auth_tokens WHERE user_id = $1 LIMIT 1', [userId]);
    return (rowCount ?? 0) > 0;
  }

  async userByEmail(email: string): Promise<UserRecord | undefined> {
    return (await this.lookupUsers([email]))[0];
  }

  /** Users by id or email (either form per entry); unknown, deleted or malformed ones are left out. */
  async lookupUsers(queries: string[]): Promise<Array<UserRecord & { query: string }>> {
    const ids = queries.filter((q) => USER_ID.test(q));
    const emails = queries.map((q) => q.trim().toLowerCase()).filter((q) => EMAIL.test(q));
    if (ids.length === 0 && emails.length === 0) return [];
    const { rows } = await this.pool.query<UserRow>('SELECT * FROM auth_users WHERE (id = ANY($1::uuid[]) OR email = ANY($2::text[])) AND deleted_at IS NULL', [ids, emails]);
    return queries.flatMap((query) => {
      const row = rows.find((r) => r.id === query || r.email === query.trim().toLowerCase());
      return row ? [{ ...toUser(row), query }] : [];
    });
  }

  /**
   * Creates a token for a user, or for a source repository (a repository
   * token). With a creator, the new token is bounded by it: scopes a subset
   * of its scopes, an expiry no later than its own, and it is revoked with it
   * (parent_token_id, checked again inside the insert). `createdBy` is the
   * person asking, kept for the record.
   */
  async createToken(owner: TokenOwner | string, name: string, expiresInSeconds: number, scopes: string[], origin: AuditOrigin, creator?: TokenCreator, createdBy = ''): Promise<{ token: TokenRecord; secret: string }> {
    const whose: TokenOwner = typeof owner === 'string' ? { userId: owner } : owner;
    const forRepository = 'sourceRepositoryId' in whose;
    if (forRepository && !SOURCE_REPOSITORY_ID.test(whose.sourceRepositoryId)) throw invalid('source_repository_id', 'must be a source repository id');
    if (!forRepository && !USER_ID.test(whose.userId)) throw invalid('user_id', 'must be a user id');
    if (!name.trim() || name.length > 100) throw invalid('name', 'must be 1-100 characters');
    if (!expiresInSeconds) throw invalid('expires_in_seconds', 'is required');
    if (!Number.isSafeInteger(expiresInSeconds) || expiresInSeconds < 0 || expiresInSeconds > this.maxTokenDays * 86_400) {
      throw invalid('expires_in_seconds', `must be at most ${this.maxTokenDays} days (${this.maxTokenDays * 86_400} seconds)`);
    }
    const allowed: readonly string[] = forRepository ? REPOSITORY_TOKEN_SCOPES : TOKEN_SCOPES;
    const unknown = scopes.filter((scope) => !allowed.includes(scope));
    if (scopes.length === 0 || unknown.length > 0) throw invalid('scopes', `must be some of ${allowed.join(', ')}${forRepository ? ' (a repository token reads, and perhaps writes, its repository\'s packages)' : ''}`);

    let parent: TokenRecord | undefined;
    if (creator) {
      parent = await this.isActive(creator.tokenId);
      if (!parent) throw new RegistryError('UNAUTHORIZED', 'the token creating this one is no longer valid');
      if (!parent.scopes.includes('admin:token')) throw new RegistryError('DENIED', 'creating API tokens with a token needs the admin:token scope');
      const beyond = scopes.filter((scope) => !parent!.scopes.includes(scope));
      if (beyond.length > 0) throw new RegistryError('DENIED', `a token cannot create a stronger one: ${beyond.join(', ')} is not among its own scopes`, { field: 'scopes' });
      const secondsLeft = Math.floor((Date.parse(parent.expiresAt) - Date.now()) / 1000);
      if (expiresInSeconds > secondsLeft) throw new RegistryError('DENIED', `a token cannot outlive the token that creates it (${Math.max(secondsLeft, 0)} seconds left)`, { field: 'expires_in_seconds' });
    }

    const id = randomBytes(8).toString('hex');
    const secret = `ocireg_${id}_${randomBytes(32).toString('base64url')}`;
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<TokenRow>(
        `INSERT INTO auth_tokens (id, user_id, source_repository_id, name, scopes, secret_hash, expires_at, parent_token_id, created_by)
         SELECT $1, $2, $8, $3, $4, $5, now() + make_interval(secs => $6), $7, $9
         WHERE ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM auth_users WHERE id = $2))
           AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM auth_tokens p WHERE p.id = $7 AND p.revoked_at IS NULL AND p.expires_at >= now() + make_interval(secs => $6)))
         RETURNING *`,
        [id, forRepository ? null : whose.userId, name.trim(), [...new Set(scopes)], this.hash(secret), expiresInSeconds, parent?.id ?? null, forRepository ? whose.sourceRepositoryId : null, USER_ID.test(createdBy) ? createdBy : null],
      );
      if (!rows[0]) {
        if (parent) throw new RegistryError('UNAUTHORIZED', 'the token creating this one was revoked or expires too soon');
        throw new RegistryError('NOT_FOUND', `user ${forRepository ? '' : whose.userId} does not exist`, { field: 'user_id' });
      }
      const token = toToken(rows[0]);
      // What the token is, never its secret.
      await recordAudit(client, origin, {
        action: 'token.created',
        target: { type: 'token', id: token.id, name: token.name },
        after: { ...(token.userId ? { userId: token.userId } : { sourceRepositoryId: token.sourceRepositoryId }), scopes: token.scopes, expiresAt: token.expiresAt, parentTokenId: token.parentTokenId },
      });
      return { token, secret };
    });
  }

  /** A source repository's tokens, oldest first. */
  async listRepositoryTokens(sourceRepositoryId: string): Promise<TokenRecord[]> {
    if (!SOURCE_REPOSITORY_ID.test(sourceRepositoryId)) throw invalid('source_repository_id', 'must be a source repository id');
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM auth_tokens WHERE source_repository_id = $1 ORDER BY created_at', [sourceRepositoryId]);
    return rows.map(toToken);
  }

  async listTokens(userId: string): Promise<TokenRecord[]> {
    if (!USER_ID.test(userId)) throw invalid('user_id', 'must be a user id');
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM auth_tokens WHERE user_id = $1 ORDER BY created_at', [userId]);
    return rows.map(toToken);
  }

  async token(tokenId: string): Promise<TokenRecord | undefined> {
    if (!/^[a-f0-9]{16}$/.test(tokenId)) throw invalid('token_id', 'is not a token id');
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM auth_tokens WHERE id = $1', [tokenId]);
    return rows[0] ? toToken(rows[0]) : undefined;
  }

  /** Revokes a token and every token created from it, at any depth; returns them all. */
  async revokeToken(tokenId: string, origin: AuditOrigin): Promise<TokenRecord[]> {
    if (!/^[a-f0-9]{16}$/.test(tokenId)) throw invalid('token_id', 'is not a token id');
    return inTransaction(this.pool, async (client) => {
      const { rows: family } = await client.query<TokenRow>(
        `WITH RECURSIVE family AS (
           SELECT id FROM auth_tokens WHERE id = $1
           UNION SELECT t.id FROM auth_tokens t JOIN family f ON t.parent_token_id = f.id
         )
         SELECT * FROM auth_tokens WHERE id IN (SELECT id FROM family) FOR UPDATE`,
        [tokenId],
      );
      if (family.length === 0) throw new RegistryError('NOT_FOUND', `token ${tokenId} does not exist`, { field: 'token_id' });
      const { rows: revoked } = await client.query<TokenRow>('UPDATE auth_tokens SET revoked_at = now() WHERE id = ANY($1::text[]) AND revoked_at IS NULL RETURNING *', [family.map((t) => t.id)]);
      // Revoked before, with every token it made: nothing changed, nothing is recorded.
      if (revoked.length > 0) {
        const token = family.find((row) => row.id === tokenId)!;
        await recordAudit(client, origin, { action: 'token.revoked', target: { type: 'token', id: tokenId, name: token.name }, after: { userId: token.user_id, revokedTokenIds: revoked.map((t) => t.id) } });
      }
      const now = new Map(revoked.map((row) => [row.id, row]));
      return family.map((row) => toToken(now.get(row.id) ?? row));
    });
  }

  /** Revokes every token of a user, and every token created from them; returns them all. */
  async revokeAllOf(userId: string): Promise<TokenRecord[]> {
    if (!USER_ID.test(userId)) throw invalid('user_id', 'must be a user id');
    const { rows } = await this.pool.query<TokenRow>(
      `WITH RECURSIVE family AS (
         SELECT id FROM auth_tokens WHERE user_id = $1
         UNION SELECT t.id FROM auth_tokens t JOIN family f ON t.parent_token_id = f.id
       )
       UPDATE auth_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id IN (SELECT id FROM family) RETURNING *`,
      [userId],
    );
    return rows.map(toToken);
  }

  /**
   * The active token a secret stands for, with its user (none for a repository
   * token), or undefined (unknown, wrong, expired or revoked). Constant-time comparison.
   */
  async verify(secret: string): Promise<{ token: TokenRecord; user?: UserRecord } | undefined> {
    const match = SECRET_FORMAT.exec(secret);
    if (!match) return undefined;
    const { rows } = await this.pool.query<TokenRow & { email: string | null; display_name: string | null; user_created_at: Date | null; service_account_workspace: string | null }>(
      `SELECT t.*, u.email, u.display_name, u.created_at AS user_created_at, u.service_account_workspace
       FROM auth_tokens t LEFT JOIN auth_users u ON u.id = t.user_id AND u.deleted_at IS NULL WHERE t.id = $1`,
      [match[1]],
    );
    const row = rows[0];
    if (!row || !timingSafeEqual(row.secret_hash, this.hash(secret))) return undefined;
    if (row.revoked_at || row.expires_at.getTime() <= Date.now()) return undefined;
    const user = row.user_id && row.email
      ? toUser({ id: row.user_id, email: row.email, display_name: row.display_name ?? row.email, created_at: row.user_created_at!, service_account_workspace: row.service_account_workspace })
      : undefined;
    if (!user && !row.source_repository_id) return undefined;
    return { token: toToken(row), user };
  }

  /** Makes sure the operator named at start exists and holds the given token (idempotent across restarts). */
  async bootstrap(email: string, secret: string, origin: AuditOrigin): Promise<void> {
    const match = SECRET_FORMAT.exec(secret);
    if (!match) throw invalid('BOOTSTRAP_ADMIN_TOKEN', 'has the wrong format');
    const user = (await this.userByEmail(email)) ?? (await this.createUser(email, 'Bootstrap operator', origin));
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ inserted: boolean; expires_at: Date }>(
        `INSERT INTO auth_tokens (id, user_id, name, scopes, secret_hash, expires_at)
         VALUES ($1, $2, 'bootstrap', $3, $4, now() + make_interval(days => $5))
         ON CONFLICT (id) DO UPDATE SET scopes = EXCLUDED.scopes WHERE auth_tokens.secret_hash = EXCLUDED.secret_hash
         RETURNING (xmax = 0) AS inserted, expires_at`,
        [match[1], user.id, [...TOKEN_SCOPES], this.hash(secret), this.maxTokenDays],
      );
      // Once, when the token is first stored; later starts find it there.
      if (rows[0]?.inserted) {
        await recordAudit(client, origin, { action: 'token.created', target: { type: 'token', id: match[1]!, name: 'bootstrap' }, after: { userId: user.id, scopes: [...TOKEN_SCOPES], expiresAt: rows[0].expires_at.toISOString(), parentTokenId: '' } });
      }
    });
  }

  /** Whether a token is still usable (refresh tokens are checked against this). */
  async isActive(tokenId: string): Promise<TokenRecord | undefined> {
    if (!/^[a-f0-9]{16}$/.test(tokenId)) return undefined;
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM auth_tokens WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()', [tokenId]);
    return rows[0] ? toToken(rows[0]) : undefined;
  }
}
