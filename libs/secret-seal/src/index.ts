import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { RegistryError } from '@ocireg/errors';

const VERSION = 1;
const HEADER = 29;

/** What a seal is for, in its error messages. */
export interface SealNames {
  /** The configuration variable that holds the key, e.g. UPSTREAM_CREDENTIALS_KEY. */
  keyName: string;
  /** What is sealed, e.g. "upstream credentials". */
  what: string;
  /** The service whose configuration holds the key, e.g. "metadata". */
  service: string;
}

/**
 * Seals secrets at rest with AES-256-GCM under a 32-byte key (base64 in the
 * configuration): version byte, 12-byte nonce, 16-byte tag, then the
 * ciphertext. Without a key, sealing and opening are refused with
 * FAILED_PRECONDITION naming the setting (secrets are never stored in clear).
 */
export class SecretSeal {
  private readonly key: Buffer | undefined;

  constructor(keyBase64: string | undefined, private readonly names: SealNames) {
    this.key = keyBase64 ? Buffer.from(keyBase64, 'base64') : undefined;
    if (this.key && this.key.length !== 32) throw new Error(`${names.keyName} must be 32 bytes, base64-encoded`);
  }

  get hasKey(): boolean {
    return this.key !== undefined;
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
    if (!SecretSeal.looksSealed(sealed)) throw new RegistryError('FAILED_PRECONDITION', `the stored ${this.names.what} are in an unknown format`);
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
    decipher.setAuthTag(sealed.subarray(13, HEADER));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER)), decipher.final()]).toString('utf8');
    } catch {
      throw new RegistryError('FAILED_PRECONDITION', `the stored ${this.names.what} do not open with ${this.names.keyName} (was the key changed?)`);
    }
  }

  /** Whether bytes have the sealed layout (version byte and room for nonce and tag); says nothing of the key. */
  static looksSealed(bytes: Buffer): boolean {
    return bytes.length >= HEADER && bytes[0] === VERSION;
  }

  private requireKey(): Buffer {
    if (!this.key) throw new RegistryError('FAILED_PRECONDITION', `${this.names.what} need ${this.names.keyName} (32 bytes, base64) in the ${this.names.service} service's configuration`);
    return this.key;
  }
}
