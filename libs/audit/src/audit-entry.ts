/** The services that keep a chain of the audit log (each writes only its own). */
export const AUDIT_CHAINS = ['metadata', 'auth', 'webhooks'] as const;
export type AuditChain = (typeof AUDIT_CHAINS)[number];

/** The doors a change came through. */
export type AuditChannel = 'registry' | 'admin-api' | 'json-api' | '';

/**
 * Who made a change and from where: the user (and the API token or web UI
 * session behind the call), or a service acting on its own (garbage
 * collection, retention), and the client's address, user agent and request
 * id as the gateway saw them. `service` is the service recording the entry,
 * which is also its chain.
 */
export interface AuditOrigin {
  service: AuditChain;
  userId: string;
  email: string;
  tokenId: string;
  sessionId: string;
  /** A service acting on its own (e.g. "metadata/gc"); "" when a user acts. */
  actorService: string;
  channel: AuditChannel;
  clientAddress: string;
  userAgent: string;
  requestId: string;
}

/** A JSON value a summary may hold: no secret ever (recordAudit refuses keys that name one). */
export type SummaryValue = string | number | boolean | null | SummaryValue[] | { [key: string]: SummaryValue };
export type Summary = Record<string, SummaryValue>;

/** What changed: one entry per change, recorded in the change's transaction. */
export interface AuditEntry {
  /** "<noun>.<verb>", e.g. "tag.deleted", "token.created", "session.sign-in". */
  action: string;
  /** Failures worth recording (a refused sign-in); everything else succeeded (it committed). */
  outcome?: 'success' | 'failure';
  /** The workspace the change is in ("" for users, tokens, sign-ins): workspace admins see their workspace's entries. */
  workspace?: string;
  target: { type: string; id?: string; name?: string };
  /** What the target was before and is after the change, in a few fields (never a secret). */
  before?: Summary;
  after?: Summary;
}

/** An entry as stored and read back. */
export interface AuditRecord {
  id: string;
  chain: AuditChain;
  seq: number;
  at: string;
  actor: { userId: string; email: string; tokenId: string; sessionId: string; service: string };
  channel: string;
  clientAddress: string;
  userAgent: string;
  requestId: string;
  action: string;
  outcome: 'success' | 'failure';
  workspace: string;
  target: { type: string; id: string; name: string };
  before: Summary | null;
  after: Summary | null;
  /** The row's chained hash (hex). */
  hash: string;
}

/** An origin for a service acting on its own (no user, no request). */
export function serviceOrigin(service: AuditChain, actorService: string, requestId = ''): AuditOrigin {
  return { service, userId: '', email: '', tokenId: '', sessionId: '', actorService, channel: '', clientAddress: '', userAgent: '', requestId };
}

/** What the gateway says about a request (libs/grpc requestOriginOf reads it from gRPC metadata). */
export interface ForwardedOrigin {
  actor: string;
  email: string;
  tokenId: string;
  sessionId: string;
  channel: AuditChannel;
  clientAddress: string;
  userAgent: string;
}

/** A user a call's assertion names: trusted over what the request says about its user. */
export interface AssertedUser {
  userId: string;
  email: string;
  tokenId: string;
  sessionId: string;
}

/**
 * The origin of a change a call makes, recorded by `service`: the client's
 * address, user agent and door as the gateway forwarded them, and the user
 * of the call's assertion (admin calls) or, without one, the user the
 * gateway names (registry calls, whose registry token it verified).
 */
export function auditOrigin(service: AuditChain, forwarded: ForwardedOrigin, requestId: string, user?: AssertedUser): AuditOrigin {
  return {
    service,
    userId: user ? user.userId : forwarded.actor,
    email: user ? user.email : forwarded.email,
    tokenId: user ? user.tokenId : forwarded.tokenId,
    sessionId: user ? user.sessionId : forwarded.sessionId,
    actorService: '',
    channel: forwarded.channel,
    clientAddress: forwarded.clientAddress,
    userAgent: forwarded.userAgent,
    requestId,
  };
}

/** A row of audit_log as read back: its content columns, as the table names them. */
export interface AuditRowContent {
  id: string;
  seq: string;
  at: Date;
  actor_user_id: string;
  actor_email: string;
  actor_token_id: string;
  actor_session_id: string;
  actor_service: string;
  channel: string;
  client_address: string;
  user_agent: string;
  request_id: string;
  action: string;
  outcome: 'success' | 'failure';
  workspace: string;
  target_type: string;
  target_id: string;
  target_name: string;
  before: Summary | null;
  after: Summary | null;
}
