import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { recordAudit, type AuditOrigin, type Summary } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import { SecretSeal } from '@ocireg/secret-seal';
import { newSecret } from './signature';

export interface Hook {
  id: string;
  workspace: string;
  url: string;
  eventTypes: string[];
  packagePatterns: string[];
  enabled: boolean;
  disabledReason: string;
  consecutiveFailures: number;
  createdAt: string;
  previousSecretUntil: string;
}

/** A hook with what signs for it: the current secret, and the previous one during a rotation's overlap. */
export interface SigningHook extends Hook {
  secrets: string[];
}

interface HookRow {
  id: string;
  workspace: string;
  url: string;
  event_types: string[];
  package_patterns: string[];
  enabled: boolean;
  disabled_reason: string;
  consecutive_failures: number;
  created_at: Date;
  /** Plaintext only in rows from before sealing, until the service starts with a key; '' otherwise. */
  secret: string;
  previous_secret: string;
  secret_sealed: Buffer | null;
  previous_secret_sealed: Buffer | null;
  previous_secret_until: Date | null;
}

export const hookOf = (row: HookRow): Hook => ({
  id: row.id,
  workspace: row.workspace,
  url: row.url,
  eventTypes: row.event_types,
  packagePatterns: row.package_patterns,
  enabled: row.enabled,
  disabledReason: row.disabled_reason,
  consecutiveFailures: row.consecutive_failures,
  createdAt: row.created_at.toISOString(),
  previousSecretUntil: row.previous_secret_until && row.previous_secret_until.getTime() > Date.now() ? row.previous_secret_until.toISOString() : '',
});

/** The seal for hooks' secrets (WEBHOOK_SECRETS_KEY); without a key, creating or rotating a hook is refused. */
export function webhookSecretSeal(keyBase64: string | undefined): SecretSeal {
  return new SecretSeal(keyBase64, { keyName: 'WEBHOOK_SECRETS_KEY', what: 'webhook secrets', service: 'webhooks' });
}

/** A hook with its secrets opened (only to sign); a legacy plaintext secret is used as it is until it is sealed. */
export const signingHookOf = (row: HookRow, seal: SecretSeal): SigningHook => {
  const current = row.secret_sealed ? seal.open(row.secret_sealed) : row.secret;
  const overlapping = row.previous_secret_until !== null && row.previous_secret_until.getTime() > Date.now();
  const previous = !overlapping ? '' : row.previous_secret_sealed ? seal.open(row.previous_secret_sealed) : row.previous_secret;
  return { ...hookOf(row), secrets: [current, ...(previous ? [previous] : [])] };
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function checkId(id: string, field: string): string {
  if (!UUID.test(id)) throw new RegistryError('INVALID_ARGUMENT', `${field}: not a webhook or delivery id`, { field });
  return id.toLowerCase();
}

/** Hooks per workspace (its admins manage them): rows of wh_hooks. Secrets leave only through create and rotate. */
export class HookStore {
  constructor(private readonly pool: Pool, private readonly seal: SecretSeal) {}

  /**
   * Seals the plaintext secrets of rows written before secrets were sealed (run at start-up
   * with a key; a no-op once done, and without a key). Returns how many rows it sealed.
   */
  async sealLegacySecrets(): Promise<number> {
    if (!this.seal.hasKey) return 0;
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<HookRow>("SELECT * FROM wh_hooks WHERE secret <> '' OR previous_secret <> '' FOR UPDATE");
      for (const row of rows) {
        await client.query(
          `UPDATE wh_hooks SET
             secret_sealed = COALESCE($2, secret_sealed), secret = '',
             previous_secret_sealed = COALESCE($3, previous_secret_sealed), previous_secret = ''
           WHERE id = $1`,
          [row.id, row.secret ? this.seal.seal(row.secret) : null, row.previous_secret ? this.seal.seal(row.previous_secret) : null],
        );
      }
      return rows.length;
    });
  }

  async create(hook: { workspace: string; url: string; eventTypes: string[]; packagePatterns: string[] }, origin: AuditOrigin): Promise<{ hook: Hook; secret: string }> {
    const secret = newSecret();
    const sealed = this.seal.seal(secret);
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<HookRow>(
        "INSERT INTO wh_hooks (id, workspace, url, event_types, package_patterns, secret, secret_sealed, created_by) VALUES ($1, $2, $3, $4, $5, '', $6, $7) RETURNING *",
        [randomUUID(), hook.workspace, hook.url, hook.eventTypes, hook.packagePatterns, sealed, origin.userId],
      );
      const created = hookOf(rows[0]!);
      await audit(client, origin, 'webhook.created', created, undefined, summaryOf(created));
      return { hook: created, secret };
    });
  }

  async list(workspace: string): Promise<Hook[]> {
    const { rows } = await this.pool.query<HookRow>('SELECT * FROM wh_hooks WHERE workspace = $1 ORDER BY created_at, id', [workspace]);
    return rows.map(hookOf);
  }

  async get(id: string): Promise<Hook> {
    const { rows } = await this.pool.query<HookRow>('SELECT * FROM wh_hooks WHERE id = $1', [checkId(id, 'webhook_id')]);
    if (!rows[0]) throw new RegistryError('NOT_FOUND', `no webhook ${id.slice(0, 64)}`);
    return hookOf(rows[0]);
  }

  /** The enabled hooks of a workspace (the consumer matches events against them). */
  async enabledIn(workspace: string): Promise<Hook[]> {
    const { rows } = await this.pool.query<HookRow>('SELECT * FROM wh_hooks WHERE workspace = $1 AND enabled', [workspace]);
    return rows.map(hookOf);
  }

  /** Hooks by id with their signing secrets (the worker's). */
  async signing(ids: string[]): Promise<Map<string, SigningHook>> {
    const { rows } = await this.pool.query<HookRow>('SELECT * FROM wh_hooks WHERE id = ANY($1::uuid[])', [ids]);
    return new Map(rows.map((row) => [row.id, signingHookOf(row, this.seal)]));
  }

  async update(id: string, change: { url?: string; filters?: { eventTypes: string[]; packagePatterns: string[] }; enabled?: boolean }, origin: AuditOrigin): Promise<Hook> {
    return inTransaction(this.pool, async (client) => {
    const before = await this.locked(client, id);
    const { rows } = await client.query<HookRow>(
      `UPDATE wh_hooks SET
         url = COALESCE($2, url),
         event_types = COALESCE($3, event_types),
         package_patterns = COALESCE($4, package_patterns),
         enabled = COALESCE($5, enabled),
         disabled_reason = CASE WHEN $5 IS NULL THEN disabled_reason ELSE '' END,
         consecutive_failures = CASE WHEN $5 THEN 0 ELSE consecutive_failures END
       WHERE id = $1 RETURNING *`,
      [checkId(id, 'webhook_id'), change.url ?? null, change.filters?.eventTypes ?? null, change.filters?.packagePatterns ?? null, change.enabled ?? null],
    );
    const after = hookOf(rows[0]!);
    if (JSON.stringify(summaryOf(before)) !== JSON.stringify(summaryOf(after))) await audit(client, origin, 'webhook.updated', after, summaryOf(before), summaryOf(after));
    return after;
    });
  }

  async delete(id: string, origin: AuditOrigin): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      const before = await this.locked(client, id);
      await client.query('DELETE FROM wh_hooks WHERE id = $1', [before.id]);
      await audit(client, origin, 'webhook.deleted', before, summaryOf(before), undefined);
    });
  }

  private async locked(client: PoolClient, id: string): Promise<Hook> {
    const { rows } = await client.query<HookRow>('SELECT * FROM wh_hooks WHERE id = $1 FOR UPDATE', [checkId(id, 'webhook_id')]);
    if (!rows[0]) throw new RegistryError('NOT_FOUND', `no webhook ${id.slice(0, 64)}`);
    return hookOf(rows[0]);
  }

  /** A new secret; the current one becomes the previous and keeps signing for `overlapSeconds`. */
  async rotate(id: string, overlapSeconds: number, origin: AuditOrigin): Promise<{ hook: Hook; secret: string }> {
    const secret = newSecret();
    const sealed = this.seal.seal(secret);
    return inTransaction(this.pool, async (client) => {
      // A legacy plaintext current secret (no key at the last start) becomes the previous as it is.
      const { rows } = await client.query<HookRow>(
        `UPDATE wh_hooks SET previous_secret = secret, previous_secret_sealed = secret_sealed,
           previous_secret_until = now() + make_interval(secs => $3), secret = '', secret_sealed = $2
         WHERE id = $1 RETURNING *`,
        [checkId(id, 'webhook_id'), sealed, overlapSeconds],
      );
      if (!rows[0]) throw new RegistryError('NOT_FOUND', `no webhook ${id.slice(0, 64)}`);
      const hook = hookOf(rows[0]);
      await audit(client, origin, 'webhook.secret-rotated', hook, undefined, { overlapUntil: hook.previousSecretUntil });
      return { hook, secret };
    });
  }
}

export type { HookRow };

/** What the audit log keeps of a hook: never its secrets. */
export function summaryOf(hook: Hook): Summary {
  return { url: hook.url, eventTypes: hook.eventTypes, packagePatterns: hook.packagePatterns, enabled: hook.enabled };
}

export function audit(client: PoolClient, origin: AuditOrigin, action: string, hook: Hook, before: Summary | undefined, after: Summary | undefined): Promise<void> {
  return recordAudit(client, origin, { action, workspace: hook.workspace, target: { type: 'webhook', id: hook.id, name: hook.url }, ...(before ? { before } : {}), ...(after ? { after } : {}) });
}
