// Hooks' signing secrets at rest in PostgreSQL: sealed under WEBHOOK_SECRETS_KEY,
// opened only to sign; rotation's overlap; a wrong or missing key fails clearly;
// plaintext rows from before sealing keep signing and are sealed at start-up.
import { randomBytes, randomUUID } from 'node:crypto';
import { serviceOrigin } from '@ocireg/audit';
import { createLogger } from '@ocireg/logger';
import { createDatabase } from '@ocireg/testenv';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookStore, webhookSecretSeal } from './hook-store';
import { migrate } from './migrate';
import { signatureHeader, verifySignature } from './signature';

const origin = serviceOrigin('webhooks', 'test');
const key = randomBytes(32).toString('base64');
const spec = { workspace: 'acme', url: 'https://hooks.example.com/', eventTypes: [], packagePatterns: [] };
const body = JSON.stringify({ id: 'e1', type: 'dev.ocireg.manifest.pushed' });

describe('webhook secrets at rest', () => {
  let pool: Pool;
  let hooks: HookStore;
  beforeAll(async () => {
    const url = await createDatabase(process.env.DATABASE_URL!, 'webhooks');
    await migrate(url, createLogger({ service: 'test', level: 'silent' }));
    pool = new Pool({ connectionString: url });
    hooks = new HookStore(pool, webhookSecretSeal(key));
  });
  afterAll(async () => {
    await pool.end();
  });

  /** The whole row as PostgreSQL's text output: no column may hold the secret, in any encoding we know of. */
  const rowText = async (id: string) => {
    const { rows } = await pool.query<{ row: string }>('SELECT wh_hooks::text AS row FROM wh_hooks WHERE id = $1', [id]);
    return rows[0]!.row;
  };
  const signs = (secrets: string[], secret: string) => {
    const t = Math.floor(Date.now() / 1000);
    return verifySignature(signatureHeader(secrets, t, body), secret, body);
  };

  it('stores no plaintext secret, and signs with the one shown', async () => {
    const { hook, secret } = await hooks.create(spec, origin);
    const text = await rowText(hook.id);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(Buffer.from(secret).toString('hex'));
    const { rows } = await pool.query('SELECT secret, previous_secret, secret_sealed FROM wh_hooks WHERE id = $1', [hook.id]);
    expect(rows[0]).toMatchObject({ secret: '', previous_secret: '' });
    expect(rows[0].secret_sealed.includes(Buffer.from(secret))).toBe(false);
    const signing = (await hooks.signing([hook.id])).get(hook.id)!;
    expect(signing.secrets).toEqual([secret]);
    expect(signs(signing.secrets, secret)).toBe(true);
  });

  it('rotates with overlap: both secrets sign, neither is stored in clear', async () => {
    const { hook, secret: first } = await hooks.create(spec, origin);
    const { secret: second } = await hooks.rotate(hook.id, 3600, origin);
    const text = await rowText(hook.id);
    expect(text).not.toContain(first);
    expect(text).not.toContain(second);
    const signing = (await hooks.signing([hook.id])).get(hook.id)!;
    expect(signing.secrets).toEqual([second, first]);
    expect(signs(signing.secrets, first)).toBe(true);
    expect(signs(signing.secrets, second)).toBe(true);
    // The overlap over, only the new one signs.
    await pool.query("UPDATE wh_hooks SET previous_secret_until = now() - interval '1 second' WHERE id = $1", [hook.id]);
    expect((await hooks.signing([hook.id])).get(hook.id)!.secrets).toEqual([second]);
  });

  it('fails clearly under a wrong key, and refuses new hooks without one', async () => {
    const { hook } = await hooks.create(spec, origin);
    const wrong = new HookStore(pool, webhookSecretSeal(randomBytes(32).toString('base64')));
    await expect(wrong.signing([hook.id])).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('do not open with WEBHOOK_SECRETS_KEY') });
    const keyless = new HookStore(pool, webhookSecretSeal(undefined));
    await expect(keyless.create(spec, origin)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('WEBHOOK_SECRETS_KEY') });
    await expect(keyless.rotate(hook.id, 60, origin)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringContaining('WEBHOOK_SECRETS_KEY') });
    expect(() => webhookSecretSeal(randomBytes(16).toString('base64'))).toThrow(/WEBHOOK_SECRETS_KEY must be 32 bytes/);
  });

  it('keeps a legacy plaintext row signing, and seals it at start-up', async () => {
    const id = randomUUID();
    const [current, previous] = ['whsec_legacy_current_' + randomUUID(), 'whsec_legacy_previous_' + randomUUID()];
    await pool.query(
      "INSERT INTO wh_hooks (id, workspace, url, secret, previous_secret, previous_secret_until) VALUES ($1, 'acme', 'https://hooks.example.com/legacy', $2, $3, now() + interval '1 hour')",
      [id, current, previous],
    );
    // Before the re-seal (e.g. a start without a key), it signs from the plaintext.
    expect((await new HookStore(pool, webhookSecretSeal(undefined)).signing([id])).get(id)!.secrets).toEqual([current, previous]);
    expect(await new HookStore(pool, webhookSecretSeal(undefined)).sealLegacySecrets()).toBe(0);
    expect(await hooks.sealLegacySecrets()).toBeGreaterThanOrEqual(1);
    const text = await rowText(id);
    expect(text).not.toContain(current);
    expect(text).not.toContain(previous);
    const signing = (await hooks.signing([id])).get(id)!;
    expect(signing.secrets).toEqual([current, previous]);
    expect(signs(signing.secrets, current)).toBe(true);
    expect(await hooks.sealLegacySecrets()).toBe(0); // once
  });
});
