import { randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { recordAudit, type AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import { SecretHasher } from './secret-hasher';

export type LinkPurpose = 'invite' | 'reset';

export interface PasswordLinkInfo {
  id: string;
  userId: string;
  email: string;
  purpose: LinkPurpose;
  expiresAt: string;
  /** The workspace whose admin made the link; undefined for an operator's. */
  workspaceSlug?: string;
}

/** What a secret that names no usable link gets: unknown, used and expired links answer alike. */
export function unknownLink(): RegistryError {
  return new RegistryError('NOT_FOUND', 'this link is unknown, was already used, or has expired; ask for a new one', { field: 'secret' });
}

/** The longest a link may live; invitations default to 7 days, resets to 1. */
export const MAX_LINK_SECONDS = 30 * 86_400;
export const DEFAULT_LINK_SECONDS: Record<LinkPurpose, number> = { invite: 7 * 86_400, reset: 86_400 };

/** "ocireg_link_<id>_<secret>": the id finds the row, the whole string is checked against its HMAC. */
const SECRET_FORMAT = /^ocireg_link_([a-f0-9]{16})_[A-Za-z0-9_-]{43}$/;

interface LinkRow {
  id: string;
  user_id: string;
  purpose: LinkPurpose;
  secret_hash: Buffer;
  expires_at: Date;
  email: string;
  workspace_slug: string | null;
}

/**
 * Invitation and reset links that set a user's password: the secret is shown
 * once (the operator passes the link on), stored only as an HMAC, works once,
 * and expires. A new link for the same user and purpose replaces older unused ones.
 * Making and using one are audited in their transaction (never the secret).
 */
export class PasswordLinks {
  constructor(
    private readonly pool: Pool,
    private readonly hasher: SecretHasher,
  ) {}

  async create(user: { id: string; email: string }, purpose: LinkPurpose, expiresInSeconds: number, origin: AuditOrigin, workspaceSlug?: string): Promise<{ secret: string; expiresAt: string }> {
    const userId = user.id;
    const createdBy = origin.userId;
    const seconds = expiresInSeconds || DEFAULT_LINK_SECONDS[purpose];
    if (!Number.isSafeInteger(seconds) || seconds < 60 || seconds > MAX_LINK_SECONDS) {
      throw new RegistryError('INVALID_ARGUMENT', `expires_in_seconds: must be from 60 to ${MAX_LINK_SECONDS} (30 days)`, { field: 'expires_in_seconds' });
    }
    const id = randomBytes(8).toString('hex');
    const secret = `ocireg_link_${id}_${randomBytes(32).toString('base64url')}`;
    return inTransaction(this.pool, async (client) => {
      await client.query("UPDATE auth_password_links SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL", [userId, purpose]);
      const { rows } = await client.query<{ expires_at: Date }>(
        `INSERT INTO auth_password_links (id, secret_hash, user_id, purpose, created_by, expires_at, workspace_slug)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), $7) RETURNING expires_at`,
        [id, this.hasher.hash(secret), userId, purpose, createdBy || null, seconds, workspaceSlug ?? null],
      );
      const expiresAt = rows[0]!.expires_at.toISOString();
      await recordAudit(client, origin, { action: purpose === 'invite' ? 'invitation.created' : 'password-reset.created', workspace: workspaceSlug, target: { type: 'user', id: userId, name: user.email }, after: { linkId: id, purpose, expiresAt } });
      return { secret, expiresAt };
    });
  }

  /** The unused, unexpired link a secret stands for, or undefined. */
  async inspect(secret: string, db: Pool | PoolClient = this.pool, lock = false): Promise<PasswordLinkInfo | undefined> {
    const match = SECRET_FORMAT.exec(secret);
    if (!match) return undefined;
    const { rows } = await db.query<LinkRow>(
      `SELECT l.id, l.user_id, l.purpose, l.secret_hash, l.expires_at, l.workspace_slug, u.email FROM auth_password_links l JOIN auth_users u ON u.id = l.user_id
       WHERE l.id = $1 AND l.used_at IS NULL AND l.expires_at > now()${lock ? ' FOR UPDATE OF l' : ''}`,
      [match[1]],
    );
    const row = rows[0];
    if (!row || !SecretHasher.equal(row.secret_hash, this.hasher.hash(secret))) return undefined;
    return {
      id: row.id,
      userId: row.user_id,
      email: row.email,
      purpose: row.purpose,
      expiresAt: row.expires_at.toISOString(),
      ...(row.workspace_slug === null ? {} : { workspaceSlug: row.workspace_slug }),
    };
  }

  /**
   * Uses a link once: `apply` (setting the password) runs in the same
   * transaction that marks the link used, so two redemptions cannot both
   * succeed. Every other unused link of the user ends with it: a password,
   * once set, is changed only by a link made after.
   */
  async redeem<T extends object>(secret: string, origin: AuditOrigin, apply: (link: PasswordLinkInfo, client: PoolClient) => Promise<T>): Promise<PasswordLinkInfo & { applied: T }> {
    return inTransaction(this.pool, async (client) => {
      const link = await this.inspect(secret, client, true);
      if (!link) throw unknownLink();
      const applied = await apply(link, client);
      await client.query('UPDATE auth_password_links SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [link.userId]);
      // Whoever holds the link acts as its user.
      await recordAudit(client, { ...origin, userId: link.userId, email: link.email }, { action: 'password.set', workspace: link.workspaceSlug, target: { type: 'user', id: link.userId, name: link.email }, after: { via: link.purpose, linkId: link.id } });
      return { ...link, applied };
    });
  }
}
