import type { Pool } from 'pg';
import { recordAudit, type AuditOrigin } from '@ocireg/audit';

/**
 * Refused sign-ins and API-token logins, in the audit log: nothing else
 * changes, so each is a transaction of its own. The account is what the
 * caller named (an email, or the id an API token starts with), never the
 * secret they tried.
 */
export class FailedLogins {
  constructor(private readonly pool: Pool) {}

  async record(origin: AuditOrigin, what: { action: 'session.sign-in' | 'token.login'; account: string; reason: string }): Promise<void> {
    await recordAudit(this.pool, origin, { action: what.action, outcome: 'failure', target: { type: 'user', name: what.account }, after: { reason: what.reason } });
  }
}
