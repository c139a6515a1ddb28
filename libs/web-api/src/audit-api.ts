import { z } from 'zod';
import { pageSize, text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { auditEntry, exact, nothing } from './shapes';

/** The filters of the audit log (registryctl audit's): every one optional. */
const auditFilters = z.object({
  workspace: text(),
  /** A user's id or email. */
  actor: text(),
  /** An action, or a prefix ending in "*" ("token.*"). */
  action: text(),
  target: text(),
  outcome: z.enum(['success', 'failure', ''], { message: 'outcome must be success or failure' }).optional().transform((value) => value ?? ''),
  since: text(),
  until: text(),
});

/** The audit log (operators; workspace admins for their workspace, `workspace` then required). */
export const auditApi = {
  /** GET /audit?workspace=&actor=&action=&target=&outcome=&since=&until=&page_size=&page_token= */
  listAuditEntries: {
    query: auditFilters.extend({ page_size: pageSize(500), page_token: text() }),
    response: exact({ entries: z.array(auditEntry), nextPageToken: z.string() }),
  },
  /**
   * GET /audit/export?<the same filters>: every matching entry, newest first,
   * streamed as JSON lines (application/x-ndjson), one `auditEntry` a line;
   * no JSON answer of its own (hence `nothing`).
   */
  exportAuditEntries: {
    query: auditFilters,
    response: nothing,
  },
} satisfies Record<string, RouteSchema>;
