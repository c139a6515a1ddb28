import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import type { AuditChain, AuditRecord, AuditRowContent } from './audit-entry';

export interface AuditFilter {
  /** Entries of one workspace; undefined: every entry (operators). */
  workspace?: string;
  /** Entries by one user (their id). */
  actorUserId?: string;
  /** An action ("tag.deleted"), or a prefix ending in "*" ("token.*"). */
  action?: string;
  /** A target's id, or the start of its name ("acme/api", "acme/api:v1"). */
  target?: string;
  outcome?: 'success' | 'failure';
  /** RFC 3339 times: since inclusive, until exclusive. */
  since?: string;
  until?: string;
}

export interface AuditPage {
  entries: AuditRecord[];
  nextPageToken: string;
}

const MAX_PAGE = 500;
const DEFAULT_PAGE = 100;
const WORKSPACE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ACTION = /^[a-z][a-z0-9.-]{0,63}\*?$/;

interface AuditRow extends AuditRowContent {
  chain: AuditChain;
  hash: Buffer;
}

const invalid = (field: string, problem: string) => new RegistryError('INVALID_ARGUMENT', `${field}: ${problem}`, { field });

/**
 * Reads the audit log newest first, a page at a time, with filters; every
 * filter is validated before it reaches SQL. Who may read what (operators
 * everything, workspace admins their workspace) is the caller's to decide.
 */
export class AuditQuery {
  constructor(private readonly pool: Pool) {}

  async list(filter: AuditFilter, pageSize: number, pageToken: string): Promise<AuditPage> {
    const limit = pageSize <= 0 ? DEFAULT_PAGE : Math.min(pageSize, MAX_PAGE);
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (filter.workspace !== undefined) {
      if (!WORKSPACE.test(filter.workspace)) throw invalid('workspace', 'is not a workspace slug');
      where.push(`workspace = ${param(filter.workspace)}`);
    }
    if (filter.actorUserId) {
      if (!USER_ID.test(filter.actorUserId)) throw invalid('actor', 'is not a user id');
      where.push(`actor_user_id = ${param(filter.actorUserId)}`);
    }
    if (filter.action) {
      if (!ACTION.test(filter.action)) throw invalid('action', 'must be an action such as tag.deleted, or a prefix ending in * (token.*)');
      where.push(filter.action.endsWith('*') ? `starts_with(action, ${param(filter.action.slice(0, -1))})` : `action = ${param(filter.action)}`);
    }
    if (filter.target) {
      if (filter.target.length > 300) throw invalid('target', 'is longer than 300 characters');
      const target = param(filter.target);
      where.push(`(target_id = ${target} OR starts_with(target_name, ${target}))`);
    }
    if (filter.outcome) {
      if (filter.outcome !== 'success' && filter.outcome !== 'failure') throw invalid('outcome', 'must be success or failure');
      where.push(`outcome = ${param(filter.outcome)}`);
    }
    if (filter.since) where.push(`at >= ${param(time('since', filter.since))}`);
    if (filter.until) where.push(`at < ${param(time('until', filter.until))}`);
    if (pageToken) {
      const after = decodeToken(pageToken);
      where.push(`(at, id) < (${param(after.at)}, ${param(after.id)})`);
    }
    const { rows } = await this.pool.query<AuditRow>(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ${param(limit + 1)}`,
      params,
    );
    const entries = rows.slice(0, limit).map(toRecord);
    const last = rows.length > limit ? rows[limit - 1] : undefined;
    return { entries, nextPageToken: last ? encodeToken(last.at, last.id) : '' };
  }
}

export function toRecord(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    chain: row.chain,
    seq: Number(row.seq),
    at: row.at.toISOString(),
    actor: { userId: row.actor_user_id, email: row.actor_email, tokenId: row.actor_token_id, sessionId: row.actor_session_id, service: row.actor_service },
    channel: row.channel,
    clientAddress: row.client_address,
    userAgent: row.user_agent,
    requestId: row.request_id,
    action: row.action,
    outcome: row.outcome,
    workspace: row.workspace,
    target: { type: row.target_type, id: row.target_id, name: row.target_name },
    before: row.before,
    after: row.after,
    hash: row.hash.toString('hex'),
  };
}

function time(field: string, value: string): Date {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw invalid(field, 'must be an RFC 3339 time (2026-12-01T00:00:00Z) or a date');
  return parsed;
}

function encodeToken(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

function decodeToken(token: string): { at: Date; id: string } {
  const [at, id] = Buffer.from(token, 'base64url').toString('utf8').split('|');
  const parsed = new Date(at ?? '');
  if (!id || !/^\d{1,19}$/.test(id) || Number.isNaN(parsed.getTime())) throw invalid('page_token', 'is not a page token of this listing');
  return { at: parsed, id };
}
