import { createPrivateKey } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateSecrets, saveSecrets, secretsFile } from './secrets';

const dataDir = () => mkdtempSync(path.join(tmpdir(), 'ocireg-secrets-'));

describe('quick-start secrets', () => {
  it('are generated once, in the formats the services accept, in a file only the owner can read', () => {
    const dir = dataDir();
    const { secrets, created } = loadOrCreateSecrets(dir);
    expect(created).toBe(true);
    expect(secrets.operator.token).toMatch(/^ocireg_[a-f0-9]{16}_[A-Za-z0-9_-]{43}$/);
    expect(secrets.tokenPepper.length).toBeGreaterThanOrEqual(16);
    expect(createPrivateKey(secrets.signingKey).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(statSync(secretsFile(dir)).mode & 0o777).toBe(0o600);
  });

  it('are reused on later starts, with what was added since (the demo token)', () => {
    const dir = dataDir();
    const first = loadOrCreateSecrets(dir).secrets;
    saveSecrets(dir, { ...first, demo: { workspace: 'demo', email: 'demo@ocireg.local', token: 'ocireg_x' } });
    const again = loadOrCreateSecrets(dir);
    expect(again.created).toBe(false);
    expect(again.secrets).toEqual({ ...first, demo: { workspace: 'demo', email: 'demo@ocireg.local', token: 'ocireg_x' } });
  });

  it('gain the upstream credentials key when a data directory from before it is started', () => {
    const dir = dataDir();
    const { upstreamCredentialsKey, ...before } = loadOrCreateSecrets(dir).secrets;
    expect(Buffer.from(upstreamCredentialsKey!, 'base64')).toHaveLength(32);
    saveSecrets(dir, before);
    const again = loadOrCreateSecrets(dir).secrets;
    expect(Buffer.from(again.upstreamCredentialsKey!, 'base64')).toHaveLength(32);
    expect(JSON.parse(readFileSync(secretsFile(dir), 'utf8')).upstreamCredentialsKey).toBe(again.upstreamCredentialsKey);
    expect(loadOrCreateSecrets(dir).secrets.upstreamCredentialsKey).toBe(again.upstreamCredentialsKey);
  });

  it('tighten a file someone made readable to others', () => {
    const dir = dataDir();
    loadOrCreateSecrets(dir);
    chmodSync(secretsFile(dir), 0o644);
    loadOrCreateSecrets(dir);
    expect(statSync(secretsFile(dir)).mode & 0o777).toBe(0o600);
  });

  it('refuse a damaged file instead of generating new secrets over it', () => {
    const dir = dataDir();
    writeFileSync(secretsFile(dir), JSON.stringify({ tokenPepper: 'x'.repeat(32) }));
    expect(() => loadOrCreateSecrets(dir)).toThrow(/lacks operator, signingKey, postgresPassword/);
    expect(JSON.parse(readFileSync(secretsFile(dir), 'utf8'))).toEqual({ tokenPepper: 'x'.repeat(32) });
  });
});
