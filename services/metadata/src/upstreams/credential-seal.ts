import { SecretSeal } from '@ocireg/secret-seal';

/** Upstream passwords sealed at rest under UPSTREAM_CREDENTIALS_KEY (the shared SecretSeal, named for them). */
export class CredentialSeal extends SecretSeal {
  constructor(keyBase64: string | undefined) {
    super(keyBase64, { keyName: 'UPSTREAM_CREDENTIALS_KEY', what: 'upstream credentials', service: 'metadata' });
  }
}
