import type { Pool, PoolClient } from 'pg';

/** Users' password hashes (argon2id PHC strings from PasswordHasher). */
export class PasswordStore {
  constructor(private readonly pool: Pool) {}

  async hashOf(userId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ hash: string }>('SELECT hash FROM auth_passwords WHERE user_id = $1', [userId]);
    return rows[0]?.hash;
  }

  async hasPassword(userId: string): Promise<boolean> {
    return (await this.hashOf(userId)) !== undefined;
  }

  /** Sets (or replaces) a user's password hash, inside the caller's transaction when given one. */
  async set(userId: string, hash: string, db: Pool | PoolClient = this.pool): Promise<void> {
    await db.query(
      'INSERT INTO auth_passwords (user_id, hash) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now()',
      [userId, hash],
    );
  }
}
