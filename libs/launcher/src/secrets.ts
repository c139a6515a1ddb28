import { randomBytes } from 'node:crypto';

export interface RegistrySecrets {
  operator: { email: string; token: string };
  /** AUTH_TOKEN_PEPPER: API tokens hash with it, so it must not change while their hashes are stored. */
  tokenPepper: string;
  /** AUTH_SIGNING_KEY (PEM, EC P-256), given to the auth service only; ephemeral when omitted. */
  signingKey?: string;
  /** UPSTREAM_CREDENTIALS_KEY (32 bytes, base64), given to metadata only: it seals upstream passwords at rest. */
  upstreamCredentialsKey?: string;
  /** WEBHOOK_SECRETS_KEY (32 bytes, base64), given to webhooks only: it seals hooks' signing secrets at rest. */
  webhookSecretsKey?: string;
}

/** Fresh secrets in the formats the services expect. */
export function generateRegistrySecrets(operatorEmail = 'operator@ocireg.local'): RegistrySecrets {
  return {
    operator: { email: operatorEmail, token: `ocireg_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}` },
    tokenPepper: randomBytes(24).toString('hex'),
    upstreamCredentialsKey: randomBytes(32).toString('base64'),
    webhookSecretsKey: randomBytes(32).toString('base64'),
  };
}
