import { AuditQuery, verifyAuditLog, type AuditRecord } from '@ocireg/audit';
import { RegistryError } from '@ocireg/errors';
import type { AsyncService, CallContext } from '@ocireg/grpc';
import type { audit } from '@ocireg/proto';
import type { Pool } from 'pg';
import type { Access } from './access';
import type { Caller, CallerResolver } from './callers';

/**
 * The audit log through the admin API (gateway-forwarded, with the caller's
 * assertion): operators read every entry and verify the chains; a workspace
 * admin reads their workspace's entries; nobody else reads any.
 */
export function auditHandlers(deps: { pool: Pool; access: Pick<Access, 'isWorkspaceAdmin'>; callers: CallerResolver }): AsyncService<audit.AuditServiceServer> {
  const { pool, access, callers } = deps;
  const query = new AuditQuery(pool);
  const reader = async (ctx: CallContext, workspaceSlug: string): Promise<Caller> => {
    const caller = callers.reader(ctx);
    if (caller.operator) return caller;
    if (!workspaceSlug) throw new RegistryError('DENIED', 'only operators read the whole audit log; workspace admins name their workspace (workspace_slug)');
    if (!(await access.isWorkspaceAdmin(caller.userId, workspaceSlug))) throw new RegistryError('DENIED', `only operators and admins of workspace ${workspaceSlug.slice(0, 64)} read its audit log`);
    return caller;
  };
  return {
    async listAuditEntries(request, ctx) {
      await reader(ctx, request.workspaceSlug);
      const outcome = request.outcome === '' ? undefined : (request.outcome as 'success' | 'failure');
      const page = await query.list(
        {
          ...(request.workspaceSlug ? { workspace: request.workspaceSlug } : {}),
          actorUserId: request.actor || undefined,
          action: request.action || undefined,
          target: request.target || undefined,
          outcome,
          since: request.since || undefined,
          until: request.until || undefined,
        },
        request.pageSize,
        request.pageToken,
      );
      return { entries: page.entries.map(entryMessage), nextPageToken: page.nextPageToken };
    },
    async verifyAuditLog(_request, ctx) {
      const caller = callers.reader(ctx);
      if (!caller.operator) throw new RegistryError('DENIED', 'only operators verify the audit log');
      const verified = await verifyAuditLog(pool);
      if (!verified.ok) ctx.logger.warn({ problems: verified.problemsTotal, first: verified.problems[0] }, 'the audit log does not verify');
      return verified;
    },
  };
}

function entryMessage(entry: AuditRecord): audit.AuditEntry {
  return {
    id: entry.id,
    chain: entry.chain,
    seq: entry.seq,
    at: entry.at,
    actor: entry.actor,
    channel: entry.channel,
    clientAddress: entry.clientAddress,
    userAgent: entry.userAgent,
    requestId: entry.requestId,
    action: entry.action,
    outcome: entry.outcome,
    workspaceSlug: entry.workspace,
    targetType: entry.target.type,
    targetId: entry.target.id,
    targetName: entry.target.name,
    beforeJson: entry.before ? JSON.stringify(entry.before) : '',
    afterJson: entry.after ? JSON.stringify(entry.after) : '',
    hash: entry.hash,
  };
}
