import { randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { recordAudit, type AuditOrigin } from '@ocireg/audit';
import { inTransaction } from '@ocireg/postgres';
import type { SecretHasher } from './secret-hasher';
import type { UserRecord } from './token-store';

export interface SessionLimits {
  /** A session unused this long ends. */
  idleSeconds: number;
  /** A session ends this long after it began, used or not. */
  maxAgeSeconds: number;
}

export interface SessionRecord {
  /** Public id (logs, revocation broadcasts); the secret is only in the user's cookie. */
  id: string;
  userId: string;
  provider: string;
  createdAt: string;
  /** The absolute end. */
  expiresAt: string;
  /** When it ends if left idle from now (never after expiresAt). */
  idleExpiresAt: string;
}

interface SessionRow {
  id: string;
  user_id: string;
  provider: string;
  created_at: Date;
  expires_at: Date;
  last_seen_at: Date;
}

/** 256 random bits, base64url: the cookie value. */
const SECRET_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/**
 * Web UI sessions. Whoever opens one (the password sign-in today, an OIDC
 * callback later: `provider` says which) gets the same kind of session;
 * nothing here knows about passwords. Only HMACs of secrets are stored; a
 * session ends at sign-out, after `idleSeconds` unused, or `maxAgeSeconds`
 * after it began, whichever comes first. Opening and signing out are audited
 * in their transaction (using a session is not a change).
 */
export class SessionStore {
  constructor(
    private readonly pool: Pool,
    private readonly hasher: SecretHasher,
    private readonly limits: SessionLimits,
  ) {}

  async create(user: { id: string; email: string }, provider: string, client: { ip: string; userAgent: string }, origin: AuditOrigin): Promise<{ secret: string; session: SessionRecord }> {
    const secret = randomBytes(32).toString('base64url');
    const id = randomBytes(8).toString('hex');
    return inTransaction(this.pool, async (db) => {
      const { rows } = await db.query<SessionRow>(
        `INSERT INTO auth_sessions (id, secret_hash, user_id, provider, client_ip, user_agent, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) RETURNING *`,
        [id, this.hasher.hash(secret), user.id, provider, client.ip.slice(0, 64), client.userAgent.slice(0, 300), this.limits.maxAgeSeconds],
      );
      const session = this.recordOf(rows[0]!);
      // The session's user is its actor; the address and agent are the sign-in's.
      await recordAudit(db, { ...origin, userId: user.id, email: user.email, sessionId: session.id, clientAddress: origin.clientAddress || client.ip, userAgent: origin.userAgent || client.userAgent }, {
        action: 'session.sign-in',
        target: { type: 'user', id: user.id, name: user.email },
        after: { sessionId: session.id, provider, expiresAt: session.expiresAt },
      });
      return { secret, session };
    });
  }

  /**
   * The live session behind a secret with its user, marked as used now; undefined
   * when unknown, ended, expired or idle too long.
   */
  async resume(secret: string): Promise<{ session: SessionRecord; user: UserRecord } | undefined> {
    if (!SECRET_FORMAT.test(secret)) return undefined;
    const { rows } = await this.pool.query<SessionRow & { email: string; display_name: string; user_created_at: Date }>(
      `UPDATE auth_sessions s SET last_seen_at = now() FROM auth_users u
       WHERE s.secret_hash = $1 AND u.id = s.user_id AND s.ended_at IS NULL AND s.expires_at > now()
         AND s.last_seen_at > now() - make_interval(secs => $2)
       RETURNING s.*, u.email, u.display_name, u.created_at AS user_created_at`,
      [this.hasher.hash(secret), this.limits.idleSeconds],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { session: this.recordOf(row), user: { id: row.user_id, email: row.email, displayName: row.display_name, createdAt: row.user_created_at.toISOString(), serviceAccountWorkspace: '' } };
  }

  /** Ends a session (sign-out); returns it, or undefined when it was not live. */
  async end(secret: string, origin: AuditOrigin): Promise<SessionRecord | undefined> {
    if (!SECRET_FORMAT.test(secret)) return undefined;
    return inTransaction(this.pool, async (db) => {
      const { rows } = await db.query<SessionRow & { email: string }>(
        'UPDATE auth_sessions s SET ended_at = now() FROM auth_users u WHERE s.secret_hash = $1 AND s.ended_at IS NULL AND u.id = s.user_id RETURNING s.*, u.email',
        [this.hasher.hash(secret)],
      );
      const row = rows[0];
      if (!row) return undefined;
      await recordAudit(db, { ...origin, userId: row.user_id, email: row.email, sessionId: row.id }, { action: 'session.sign-out', target: { type: 'user', id: row.user_id, name: row.email }, before: { sessionId: row.id } });
      return this.recordOf(row);
    });
  }

  /** Ends every live session of a user (their password was reset), in the caller's transaction when given one; returns them. */
  async endAllOf(userId: string, db: Pool | PoolClient = this.pool): Promise<SessionRecord[]> {
    const { rows } = await db.query<SessionRow>('UPDATE auth_sessions SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL AND expires_at > now() RETURNING *', [userId]);
    return rows.map((row) => this.recordOf(row));
  }

  /** The token a session's state-changing requests carry (double submit, bound to the session: no table needed). */
  csrfToken(secret: string): string {
    return this.hasher.derive('csrf', secret);
  }

  /** Forgets sessions that ended or expired over a day ago. */
  async prune(): Promise<number> {
    const { rowCount } = await this.pool.query("DELETE FROM auth_sessions WHERE expires_at < now() - interval '1 day' OR ended_at < now() - interval '1 day'");
    return rowCount ?? 0;
  }

  private recordOf(row: SessionRow): SessionRecord {
    const idleEnd = Math.min(row.last_seen_at.getTime() + this.limits.idleSeconds * 1000, row.expires_at.getTime());
    return { id: row.id, userId: row.user_id, provider: row.provider, createdAt: row.created_at.toISOString(), expiresAt: row.expires_at.toISOString(), idleExpiresAt: new Date(idleEnd).toISOString() };
  }
}
