import type { Pool } from 'pg';
import { recordAudit, type AuditOrigin } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import { inTransaction } from '@ocireg/postgres';
import { SERVICE_ACCOUNT_DOMAIN, toUser, type UserRecord, type UserRow } from './token-store';

export interface ServiceAccountRecord extends UserRecord {
  name: string;
  createdBy: string;
}

const NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SLUG = NAME;

/** The login name (docker login's username) of a workspace's service account. */
export const serviceAccountLogin = (workspace: string, name: string) => `${name}@${workspace}.${SERVICE_ACCOUNT_DOMAIN}`;

type Row = UserRow & { service_account_name: string; created_by: string | null };
const toServiceAccount = (row: Row): ServiceAccountRecord => ({ ...toUser(row), name: row.service_account_name, createdBy: row.created_by ?? '' });

/**
 * Service accounts: rows of auth_users that are no person, owned by one
 * workspace. Roles and tokens work as for any user; what differs is who may
 * manage them (the workspace's admins) and that they have no password.
 */
export class ServiceAccountStore {
  constructor(private readonly pool: Pool) {}

  /** Creates a service account, with its audit entry in the same transaction. */
  async create(workspace: string, name: string, displayName: string, createdBy: string, origin: AuditOrigin): Promise<ServiceAccountRecord> {
    if (!SLUG.test(workspace) || workspace.length > 63) throw new RegistryError('INVALID_ARGUMENT', 'workspace_slug: must be a workspace slug', { field: 'workspace_slug' });
    if (!NAME.test(name) || name.length > 40) throw new RegistryError('INVALID_ARGUMENT', 'name: must be 1-40 lowercase letters, digits and single dashes', { field: 'name' });
    if (displayName.length > 200) throw new RegistryError('INVALID_ARGUMENT', 'display_name: must be at most 200 characters', { field: 'display_name' });
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Row>(
        `INSERT INTO auth_users (email, display_name, service_account_workspace, service_account_name, created_by)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING *`,
        [serviceAccountLogin(workspace, name), displayName.trim() || name, workspace, name, createdBy || null],
      );
      if (!rows[0]) throw new RegistryError('ALREADY_EXISTS', `service account ${name} already exists in ${workspace} (or did: names are not reused)`, { field: 'name' });
      const account = toServiceAccount(rows[0]);
      await recordAudit(client, origin, { action: 'service-account.created', workspace, target: { type: 'user', id: account.id, name: account.email }, after: { name, displayName: account.displayName } });
      return account;
    });
  }

  async list(workspace: string): Promise<ServiceAccountRecord[]> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM auth_users WHERE service_account_workspace = $1 AND deleted_at IS NULL ORDER BY service_account_name', [workspace]);
    return rows.map(toServiceAccount);
  }

  /** Ends a service account (its row stays, for the ids that name it); its tokens are revoked by the caller. */
  async markDeleted(account: ServiceAccountRecord, revokedTokenIds: string[], origin: AuditOrigin): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query('UPDATE auth_users SET deleted_at = now() WHERE id = $1 AND service_account_workspace IS NOT NULL', [account.id]);
      await recordAudit(client, origin, { action: 'service-account.deleted', workspace: account.serviceAccountWorkspace, target: { type: 'user', id: account.id, name: account.email }, after: { revokedTokenIds } });
    });
  }
}
