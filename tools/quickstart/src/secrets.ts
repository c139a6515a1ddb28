import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateRegistrySecrets, type RegistrySecrets } from '@ocireg/launcher';

/** The demo user --demo created, kept so later starts print the same token instead of issuing new ones. */
export interface DemoCredentials {
  workspace: string;
  email: string;
  token: string;
  /** The demo user's web UI password (set once through a reset link the operator makes). */
  password?: string;
}

/**
 * Everything generated on the first start that later starts must reuse:
 * stored token hashes depend on the pepper, the operator's token is in the
 * database, the cluster's password was set by initdb, and registry tokens
 * already handed out are signed with the key.
 */
export interface QuickstartSecrets extends RegistrySecrets {
  signingKey: string;
  postgresPassword: string;
  demo?: DemoCredentials;
}

export function secretsFile(dataDir: string): string {
  return path.join(dataDir, 'secrets.json');
}

/** Reads $DATA_DIR/secrets.json, or generates and writes it (mode 0600) on the first start. */
export function loadOrCreateSecrets(dataDir: string): { secrets: QuickstartSecrets; created: boolean } {
  const file = secretsFile(dataDir);
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    const secrets = JSON.parse(readFileSync(file, 'utf8')) as Partial<QuickstartSecrets>;
    const missing = (['operator', 'tokenPepper', 'signingKey', 'postgresPassword'] as const).filter((key) => !secrets[key]);
    if (missing.length) throw new Error(`${file} lacks ${missing.join(', ')}: restore it from a backup, or start with an empty data directory`);
    // Added since (upstream passwords of the pull-through cache): nothing is sealed with it yet, so a new one is safe.
    if (!secrets.upstreamCredentialsKey) {
      secrets.upstreamCredentialsKey = randomBytes(32).toString('base64');
      saveSecrets(dataDir, secrets as QuickstartSecrets);
    }
    // Added since too (webhook secrets): hooks stored before it hold plaintext, which webhooks seals under it on start.
    if (!secrets.webhookSecretsKey) {
      secrets.webhookSecretsKey = randomBytes(32).toString('base64');
      saveSecrets(dataDir, secrets as QuickstartSecrets);
    }
    return { secrets: secrets as QuickstartSecrets, created: false };
  }
  const secrets: QuickstartSecrets = {
    ...generateRegistrySecrets('admin@ocireg.local'),
    signingKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    postgresPassword: randomBytes(24).toString('base64url'),
  };
  saveSecrets(dataDir, secrets);
  return { secrets, created: true };
}

/** Written to a temporary file first, so an interrupted write never leaves a half file behind. */
export function saveSecrets(dataDir: string, secrets: QuickstartSecrets): void {
  mkdirSync(dataDir, { recursive: true });
  const file = secretsFile(dataDir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}
