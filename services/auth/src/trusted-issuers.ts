import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { recordAudit, type AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';

export interface ClaimMappingRecord {
  claimValue: string;
  sourceRepository: string;
  sourceRepositoryId: string;
  pullSourceRepositories: string[];
  pullSourceRepositoryIds: string[];
}

export interface TrustedIssuerRecord {
  id: string;
  workspaceSlug: string;
  name: string;
  kind: string;
  issuerUrl: string;
  jwksUrl: string;
  repositoryClaim: string;
  mappings: ClaimMappingRecord[];
  createdAt: string;
  createdBy: string;
}

interface Row {
  id: string;
  workspace_slug: string;
  name: string;
  kind: string;
  issuer_url: string;
  jwks_url: string;
  repository_claim: string;
  mappings: ClaimMappingRecord[];
  created_at: Date;
  created_by: string | null;
}

const toRecord = (row: Row): TrustedIssuerRecord => ({
  id: row.id,
  workspaceSlug: row.workspace_slug,
  name: row.name,
  kind: row.kind,
  issuerUrl: row.issuer_url,
  jwksUrl: row.jwks_url,
  repositoryClaim: row.repository_claim,
  mappings: row.mappings,
  createdAt: row.created_at.toISOString(),
  createdBy: row.created_by ?? '',
});

/** Trusted CI issuers, per workspace, and the ID tokens already used to log in (replays are refused). */
export class TrustedIssuerStore {
  constructor(private readonly pool: Pool) {}

  /** Registers an issuer, with its audit entry in the same transaction. */
  async create(input: Omit<TrustedIssuerRecord, 'id' | 'createdAt'>, origin: AuditOrigin): Promise<TrustedIssuerRecord> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Row>(
        `INSERT INTO auth_trusted_issuers (id, workspace_slug, name, kind, issuer_url, jwks_url, repository_claim, mappings, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (workspace_slug, name) DO NOTHING RETURNING *`,
        [randomBytes(8).toString('hex'), input.workspaceSlug, input.name, input.kind, input.issuerUrl, input.jwksUrl, input.repositoryClaim, JSON.stringify(input.mappings), input.createdBy || null],
      );
      if (!rows[0]) throw new RegistryError('ALREADY_EXISTS', `a trusted issuer named ${input.name.slice(0, 100)} already exists in ${input.workspaceSlug}`, { field: 'name' });
      const created = toRecord(rows[0]);
      await recordAudit(client, origin, {
        action: 'trusted-issuer.created',
        workspace: created.workspaceSlug,
        target: { type: 'trusted-issuer', id: created.id, name: created.name },
        after: { kind: created.kind, issuerUrl: created.issuerUrl, repositoryClaim: created.repositoryClaim, mappings: created.mappings.map((m) => ({ claimValue: m.claimValue, sourceRepository: m.sourceRepository, pullSourceRepositories: m.pullSourceRepositories })) },
      });
      return created;
    });
  }

  async list(workspaceSlug: string): Promise<TrustedIssuerRecord[]> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM auth_trusted_issuers WHERE workspace_slug = $1 ORDER BY name', [workspaceSlug]);
    return rows.map(toRecord);
  }

  /** Every workspace's registration of an issuer (by the tokens' iss). */
  async byIssuer(issuerUrl: string): Promise<TrustedIssuerRecord[]> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM auth_trusted_issuers WHERE issuer_url = $1 ORDER BY created_at', [issuerUrl]);
    return rows.map(toRecord);
  }

  async get(id: string): Promise<TrustedIssuerRecord | undefined> {
    if (!/^[a-f0-9]{16}$/.test(id)) return undefined;
    const { rows } = await this.pool.query<Row>('SELECT * FROM auth_trusted_issuers WHERE id = $1', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Removes an issuer, with its audit entry in the same transaction; false when it did not exist. */
  async delete(workspaceSlug: string, id: string, origin: AuditOrigin): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Row>('DELETE FROM auth_trusted_issuers WHERE workspace_slug = $1 AND id = $2 RETURNING *', [workspaceSlug, id]);
      if (!rows[0]) return false;
      await recordAudit(client, origin, { action: 'trusted-issuer.deleted', workspace: workspaceSlug, target: { type: 'trusted-issuer', id, name: rows[0].name }, before: { issuerUrl: rows[0].issuer_url } });
      return true;
    });
  }

  /** Records an ID token's first use; false when it was used before (a replay). */
  async firstUse(issuerUrl: string, jti: string, expiresAt: Date): Promise<boolean> {
    await this.pool.query('DELETE FROM auth_ci_token_uses WHERE expires_at < now() - interval \'1 hour\'');
    const { rowCount } = await this.pool.query('INSERT INTO auth_ci_token_uses (issuer_url, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [issuerUrl, jti.slice(0, 512), expiresAt]);
    return (rowCount ?? 0) > 0;
  }
}
