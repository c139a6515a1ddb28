import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Secrets handed to users (API tokens, UI sessions, password links) are
 * stored only as HMAC-SHA256 with the pepper (AUTH_TOKEN_PEPPER), so a copy of
 * the database alone opens nothing.
 */
export class SecretHasher {
  constructor(private readonly pepper: string) {}

  hash(secret: string): Buffer {
    return createHmac('sha256', this.pepper).update(secret).digest();
  }

  /** A value bound to a secret for another purpose (e.g. a session's CSRF token), not revealing the secret. */
  derive(purpose: string, secret: string): string {
    return createHmac('sha256', this.pepper).update(`${purpose}\0${secret}`).digest('base64url');
  }

  static equal(a: Buffer, b: Buffer): boolean {
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
