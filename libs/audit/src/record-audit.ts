import type { Pool, PoolClient } from 'pg';
import type { AuditEntry, AuditOrigin } from './audit-entry';
import { boundSummary, boundText } from './bounded-fields';
import { entryDigest, type DigestedFields } from './entry-digest';

/**
 * Records one audit entry in the caller's transaction: the entry exists
 * exactly when the change commits. The row joins the recording service's
 * chain (origin.service) under that chain's head lock, which is held until
 * the commit, so call it last in the transaction when you can (docs/audit.md).
 * Given the pool instead, the entry is a transaction of its own (a refused
 * sign-in: nothing else changed).
 *
 *   await recordAudit(client, origin, { action: 'tag.deleted', workspace, target: { type: 'tag', name: `${repository}:${tag}` }, before: { digest } });
 */
export async function recordAudit(client: PoolClient | Pool, origin: AuditOrigin, entry: AuditEntry): Promise<void> {
  const fields: DigestedFields = {
    chain: origin.service,
    // Milliseconds, as JavaScript reads the column back: the digest is over what is stored.
    at: new Date(),
    actorUserId: boundText(origin.userId, 64),
    actorEmail: boundText(origin.email, 320),
    actorTokenId: boundText(origin.tokenId, 64),
    actorSessionId: boundText(origin.sessionId, 64),
    actorService: boundText(origin.actorService, 64),
    channel: boundText(origin.channel, 32),
    clientAddress: boundText(origin.clientAddress, 64),
    userAgent: boundText(origin.userAgent),
    requestId: boundText(origin.requestId, 128),
    action: boundText(entry.action, 64),
    outcome: entry.outcome ?? 'success',
    workspace: boundText(entry.workspace, 64),
    targetType: boundText(entry.target.type, 64),
    targetId: boundText(entry.target.id, 128),
    targetName: boundText(entry.target.name),
    before: boundSummary(entry.before),
    after: boundSummary(entry.after),
  };
  const f = fields;
  // seq, prev_hash and hash are the chain trigger's (the head row decides them).
  await client.query(
    `INSERT INTO audit_log (chain, seq, prev_hash, hash, entry_digest, at, actor_user_id, actor_email, actor_token_id, actor_session_id, actor_service,
       channel, client_address, user_agent, request_id, action, outcome, workspace, target_type, target_id, target_name, before, after)
     VALUES ($1, 0, ''::bytea, ''::bytea, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
    [
      f.chain, entryDigest(fields), f.at, f.actorUserId, f.actorEmail, f.actorTokenId, f.actorSessionId, f.actorService,
      f.channel, f.clientAddress, f.userAgent, f.requestId, f.action, f.outcome, f.workspace, f.targetType, f.targetId, f.targetName,
      f.before === null ? null : JSON.stringify(f.before), f.after === null ? null : JSON.stringify(f.after),
    ],
  );
}
