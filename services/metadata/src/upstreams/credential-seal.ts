import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { RegistryError } from '@ocireg/errors';

const VERSION = 1;

/**
 * Seals upstream passwords at rest with AES-256-GCM under the key from
 * UPSTREAM_CREDENTIALS_KEY: version byte, 12-byte nonce, 16-byte tag, then the
 * ciphertext. Without a key, storing credentials is refused (never stored in clear).
 */
export class CredentialSeal {
  private readonly key: Buffer | undefined;

  constructor(keyBase64: string | undefined) {
    this.key = keyBase64 ? Buffer.from(keyBase64, 'base64') : undefined;
    if (this.key && this.key.length !== 32) throw new Error('UPSTREAM_CREDENTIALS_KEY must be 32 bytes, base64-encoded');
  }

  seal(secret: string): Buffer {
    const key = this.requireKey();
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), nonce, cipher.getAuthTag(), body]);
  }

  open(sealed: Buffer): string {
    const key = this.requireKey();
    if (sealed[0] !== VERSION || sealed.length < 29) throw new RegistryError('FAILED_PRECONDITION', 'the stored upstream credentials are in an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
    decipher.setAuthTag(sealed.subarray(13, 29));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8');
    } catch {
      throw new RegistryError('FAILED_PRECONDITION', 'the stored upstream credentials do not open with UPSTREAM_CREDENTIALS_KEY (was the key changed?)');
    }
  }

  private requireKey(): Buffer {
    if (!this.key) throw new RegistryError('FAILED_PRECONDITION', 'upstream credentials need UPSTREAM_CREDENTIALS_KEY (32 bytes, base64) in the metadata service\'s configuration');
    return this.key;
  }
}
