import { env, grpcServiceSettings, loadConfig, z } from '@ocireg/config';

export const configSchema = z.object({
  ...grpcServiceSettings({ grpcPort: 50051, metricsPort: 9101 }),
  DATABASE_URL: env.url(),
  /** Run migrations at start-up (the Helm chart runs them as a hook instead). */
  MIGRATE_ON_START: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** Failed-login counters and revocation broadcasts; without it, counters stay in memory and revocations go through PostgreSQL (embedded mode). */
  REDIS_URL: env.optionalUrl(),
  METADATA_ADDR: env.address(),
  /** Secret mixed into every token hash (HMAC key); rotate by re-issuing tokens. */
  AUTH_TOKEN_PEPPER: z.string().min(16, 'must be at least 16 characters'),
  /** PEM of the EC P-256 private key that signs registry tokens; an ephemeral one when unset (development only). */
  AUTH_SIGNING_KEY: z.string().optional(),
  /** PEM public keys of retired signing keys, still accepted while their tokens live (rotation). */
  AUTH_PREVIOUS_PUBLIC_KEYS: z.string().optional(),
  /** Longest lifetime of an API token. */
  AUTH_MAX_TOKEN_DAYS: z.coerce.number().int().positive().default(365),
  /** Lifetime of registry (bearer) tokens; longer than the upload time limit so a slow push still ends with a valid token. */
  REGISTRY_TOKEN_SECONDS: z.coerce.number().int().min(60).default(900),
  /** Users allowed every admin call (comma-separated emails). */
  OPERATOR_EMAILS: z.string().default('').transform((value) => value.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean)),
  /** An operator created at start with this API token (format ocireg_<16 hex>_<43 base64url>), so a new install can be administered. */
  BOOTSTRAP_ADMIN_EMAIL: z.string().email().optional(),
  BOOTSTRAP_ADMIN_TOKEN: z.string().regex(/^ocireg_[a-f0-9]{16}_[A-Za-z0-9_-]{43}$/, 'must look like ocireg_<16 hex>_<43 base64url>').optional(),
  /** Failed logins of one account from one client address in 5 minutes before failures answer 429 (a correct token always works). */
  LOGIN_FAILURE_LIMIT: z.coerce.number().int().positive().default(10),
  /** Failed logins from one client address in 5 minutes before its failures answer 429 (higher: many users may share an address). */
  LOGIN_FAILURE_LIMIT_PER_IP: z.coerce.number().int().positive().default(100),
  /** The audience a CI job's ID token must name: this registry (the job asks its CI system for a token with it). */
  CI_ID_TOKEN_AUDIENCE: z.string().min(1).max(300).default('ocireg'),
  /** How long a CI login's grants last: at most 15 minutes. */
  CI_LOGIN_SECONDS: z.coerce.number().int().min(60).max(900).default(900),
  /** Web UI sign-in with a password; an operator turns it off when everyone signs in through an identity provider. */
  PASSWORD_SIGN_IN: z.enum(['true', 'false']).default('true').transform((value) => value === 'true'),
  /** Identity providers for the web UI's sign-in (JSON list, oidc-providers.ts); or OIDC_PROVIDERS_FILE, a file holding it. It holds client secrets: the chart sets it from a Secret. */
  OIDC_PROVIDERS: z.string().optional(),
  OIDC_PROVIDERS_FILE: env.absolutePath().optional(),
  /** A web UI session unused this long ends (sign in again). */
  SESSION_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(60).default(2 * 3600),
  /** A web UI session ends this long after sign-in, used or not. */
  SESSION_MAX_AGE_SECONDS: z.coerce.number().int().min(60).default(12 * 3600),
});

export type AuthConfig = ReturnType<typeof loadAuthConfig>;

export function loadAuthConfig(source: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    configSchema.refine((c) => !c.BOOTSTRAP_ADMIN_TOKEN || c.BOOTSTRAP_ADMIN_EMAIL, { message: 'is required with BOOTSTRAP_ADMIN_TOKEN', path: ['BOOTSTRAP_ADMIN_EMAIL'] }),
    source,
  );
}
