import { createHash } from 'node:crypto';
import { SecretSeal } from '@ocireg/secret-seal';

/** Upstream passwords sealed at rest under UPSTREAM_CREDENTIALS_KEY (the shared SecretSeal, named for them). */
export class CredentialSeal extends SecretSeal {
  /** Names the key without revealing it (a hash's first 16 hex digits; '' without a key): replication claims only targets made under it. */
  readonly keyId: string;

  constructor(keyBase64: string | undefined) {
    super(keyBase64, { keyName: 'UPSTREAM_CREDENTIALS_KEY', what: 'upstream credentials', service: 'metadata' });
    this.keyId = keyBase64 ? createHash('sha256').update(`ocireg-credential-key:${keyBase64}`).digest('hex').slice(0, 16) : '';
  }
}
