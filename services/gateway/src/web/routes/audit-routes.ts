import { Router } from 'express';
import { unaryCall, type ClientCallOptions } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { audit } from '@ocireg/proto';
import { webApi, type AuditEntry, type QueryOf } from '@ocireg/web-api';
import type { UserResolver } from '../../admin/users-by-email';
import { jsonRoutes } from '../api-context';
import type { WebCallers } from '../web-callers';

type Filters = QueryOf<typeof webApi.exportAuditEntries>;

/**
 * The audit log: a page of entries (the UI's page), and every matching entry
 * as JSON lines. AuditService calls forwarded to metadata with the caller's
 * assertion; metadata decides who reads what (operators everything,
 * workspace admins their workspace).
 */
export function auditRoutes(deps: { audit: audit.AuditServiceClient; people: UserResolver; web: WebCallers; logger: Logger }): Router {
  const { audit: client, people, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  const request = async (filters: Filters, pageSize: number, pageToken: string, requestId: string): Promise<audit.ListAuditEntriesRequest> => ({
    workspaceSlug: filters.workspace,
    actor: filters.actor.includes('@') ? await people.idOf(filters.actor, requestId) : filters.actor,
    action: filters.action,
    target: filters.target,
    outcome: filters.outcome,
    since: filters.since,
    until: filters.until,
    pageSize,
    pageToken,
  });
  const page = (options: ClientCallOptions, listed: audit.ListAuditEntriesRequest) => unaryCall(client.listAuditEntries.bind(client), listed, options);

  router.get(
    '/audit',
    route(webApi.listAuditEntries, async ({ actor, as, query, requestId }) => {
      const caller = await actor();
      const listed = await page(as(caller), await request(query, query.page_size, query.page_token, requestId));
      // Registry pushes name the user by id only: the page shows their email.
      const missing = [...new Set(listed.entries.filter((e) => e.actor?.userId && !e.actor.email).map((e) => e.actor!.userId))];
      const emails = await people.emailsOf(missing, requestId);
      return { entries: listed.entries.map((entry) => entryOf(entry, emails)), nextPageToken: listed.nextPageToken };
    }),
  );
  router.get(
    '/audit/export',
    route(webApi.exportAuditEntries, async ({ actor, as, query, requestId, res }) => {
      const options = as(await actor());
      const first = await page(options, await request(query, 500, '', requestId));
      // Refusals (403, 400) come before the first line, as JSON errors.
      res.status(200).set({ 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Disposition': 'attachment; filename="audit-log.jsonl"' });
      let listed = first;
      for (;;) {
        for (const entry of listed.entries) {
          if (!res.write(`${JSON.stringify(entryOf(entry, new Map()))}\n`)) await new Promise((resolve) => res.once('drain', resolve));
        }
        if (!listed.nextPageToken) break;
        listed = await page(options, await request(query, 500, listed.nextPageToken, requestId));
      }
      res.end();
      return {};
    }),
  );
  return router;
}

function entryOf(entry: audit.AuditEntry, emails: Map<string, string>): AuditEntry {
  const actor = entry.actor ?? { userId: '', email: '', tokenId: '', sessionId: '', service: '' };
  return {
    id: entry.id,
    chain: entry.chain,
    seq: entry.seq,
    at: entry.at,
    actor: { userId: actor.userId, email: actor.email || (emails.get(actor.userId) ?? ''), tokenId: actor.tokenId, sessionId: actor.sessionId, service: actor.service },
    channel: entry.channel,
    clientAddress: entry.clientAddress,
    userAgent: entry.userAgent,
    requestId: entry.requestId,
    action: entry.action,
    outcome: entry.outcome === 'failure' ? 'failure' : 'success',
    workspace: entry.workspaceSlug,
    target: { type: entry.targetType, id: entry.targetId, name: entry.targetName },
    before: entry.beforeJson ? (JSON.parse(entry.beforeJson) as Record<string, unknown>) : null,
    after: entry.afterJson ? (JSON.parse(entry.afterJson) as Record<string, unknown>) : null,
    hash: entry.hash,
  };
}
