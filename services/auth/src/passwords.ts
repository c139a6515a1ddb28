import { Algorithm, hash, verify } from '@node-rs/argon2';
import { RegistryError } from '@ocireg/errors';

/** OWASP's argon2id minimum: 19 MiB, 2 passes, one lane (about 30 ms here). */
const ARGON2ID = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 256;

/**
 * Password hashing with argon2id (@node-rs/argon2: Rust's argon2, prebuilt
 * binaries, no build step). Hashes are PHC strings, so their parameters travel
 * with them and can be raised later without breaking stored ones.
 */
export class PasswordHasher {
  /** A hash of nothing anyone knows: checked when the user has no password, so a miss costs the same time as a wrong password. */
  private decoy?: Promise<string>;

  async hash(password: string): Promise<string> {
    checkPolicy(password);
    return hash(password, ARGON2ID);
  }

  /** True when `password` matches `stored`; with no stored hash, spends the same time and answers false. */
  async verify(stored: string | undefined, password: string): Promise<boolean> {
    if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) return false;
    if (!stored) {
      this.decoy ??= hash('decoy password nobody has', ARGON2ID);
      await verify(await this.decoy, password).catch(() => false);
      return false;
    }
    try {
      return await verify(stored, password);
    } catch {
      return false;
    }
  }
}

/** Length is the rule that matters (NIST SP 800-63B): at least 12 characters, at most 256. */
export function checkPolicy(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new RegistryError('INVALID_ARGUMENT', `password: must be at least ${MIN_PASSWORD_LENGTH} characters`, { field: 'password' });
  if (password.length > MAX_PASSWORD_LENGTH) throw new RegistryError('INVALID_ARGUMENT', `password: must be at most ${MAX_PASSWORD_LENGTH} characters`, { field: 'password' });
}
