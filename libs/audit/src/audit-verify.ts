import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '@ocireg/postgres';
import { AUDIT_CHAINS, type AuditChain, type AuditRowContent } from './audit-entry';
import { chainedHash, entryDigest } from './entry-digest';

export interface ChainReport {
  chain: AuditChain;
  /** Rows checked. */
  rows: number;
  firstSeq: number;
  lastSeq: number;
  /** The chain's head: the hash to keep elsewhere, to notice later whether the log was rewritten. */
  headSeq: number;
  headHash: string;
}

export interface AuditProblem {
  chain: AuditChain;
  seq: number;
  /** The row's id ("" when the problem is a missing row or the head). */
  id: string;
  problem: string;
}

export interface AuditVerification {
  ok: boolean;
  chains: ChainReport[];
  /** The first problems found (at most MAX_PROBLEMS), in chain order. */
  problems: AuditProblem[];
  problemsTotal: number;
}

/** Where a chain starts: its first row's predecessor, as the last retention run recorded it (docs/audit.md). */
export interface ChainAnchor {
  firstSeq: number;
  prevHash: string;
}

const ZERO_HASH = Buffer.alloc(32);
const PAGE = 2000;
const MAX_PROBLEMS = 100;
/** The action retention records, with each chain's anchor after it deleted rows. */
export const PRUNED_ACTION = 'audit.pruned';

interface VerifiedRow extends AuditRowContent {
  prev_hash: Buffer;
  hash: Buffer;
  entry_digest: Buffer;
}

/**
 * Walks every chain from its anchor to its head: each row's content must
 * give its digest, its hash must be sha256(previous hash || digest), the
 * sequence must have no gap, and the last row must be the head. Any edited,
 * inserted, removed or reordered row, made behind the triggers' back (a
 * superuser, the table's owner after DDL), is reported with its place.
 */
export function verifyAuditLog(pool: Pool): Promise<AuditVerification> {
  // One snapshot: rows written or pruned meanwhile neither appear nor go missing halfway.
  return inTransaction(pool, (client) => verifyChains(client), { isolation: 'repeatable read', readOnly: true });
}

async function verifyChains(pool: PoolClient): Promise<AuditVerification> {
  const problems: AuditProblem[] = [];
  let problemsTotal = 0;
  const report = (problem: AuditProblem) => {
    problemsTotal += 1;
    if (problems.length < MAX_PROBLEMS) problems.push(problem);
  };
  const anchors = await latestAnchors(pool);
  const chains: ChainReport[] = [];
  for (const chain of AUDIT_CHAINS) {
    const { rows: heads } = await pool.query<{ seq: string; hash: Buffer }>('SELECT seq, hash FROM audit_chain_heads WHERE chain = $1', [chain]);
    const head = heads[0];
    if (!head) {
      report({ chain, seq: 0, id: '', problem: 'the chain has no head row' });
      continue;
    }
    const anchor = anchors.get(chain) ?? { firstSeq: 1, prevHash: ZERO_HASH.toString('hex') };
    let expectedSeq = anchor.firstSeq;
    let previous: Buffer = Buffer.from(anchor.prevHash, 'hex');
    let checked = 0;
    let firstSeq = 0;
    for (let after = 0; ; ) {
      const { rows } = await pool.query<VerifiedRow>('SELECT * FROM audit_log WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3', [chain, after, PAGE]);
      for (const row of rows) {
        const seq = Number(row.seq);
        if (checked === 0) firstSeq = seq;
        checked += 1;
        if (seq < expectedSeq) report({ chain, seq, id: row.id, problem: `a row before the chain's start (seq ${anchor.firstSeq}, the last retention run's anchor)` });
        else if (seq > expectedSeq) report({ chain, seq: expectedSeq, id: '', problem: missing(expectedSeq, seq - 1) });
        const digest = entryDigest(digestFieldsOf(chain, row));
        if (!digest.equals(row.entry_digest)) report({ chain, seq, id: row.id, problem: 'the row was changed after it was written (its content no longer gives its digest)' });
        if (!row.prev_hash.equals(previous)) report({ chain, seq, id: row.id, problem: "the row does not follow the one before it (prev_hash is not that row's hash)" });
        if (!chainedHash(row.prev_hash, row.entry_digest).equals(row.hash)) report({ chain, seq, id: row.id, problem: 'the hash is not sha256(prev_hash || entry_digest)' });
        previous = row.hash;
        expectedSeq = seq + 1;
        after = seq;
      }
      if (rows.length < PAGE) break;
    }
    const headSeq = Number(head.seq);
    if (headSeq !== expectedSeq - 1 || !head.hash.equals(previous)) {
      report({ chain, seq: headSeq, id: '', problem: headSeq > expectedSeq - 1 ? `${missing(expectedSeq, headSeq)} at the end of the chain` : "the chain's head does not name its last row" });
    }
    chains.push({ chain, rows: checked, firstSeq, lastSeq: expectedSeq - 1, headSeq, headHash: head.hash.toString('hex') });
  }
  return { ok: problemsTotal === 0, chains, problems, problemsTotal };
}

function missing(from: number, to: number): string {
  return from === to ? `row ${from} is missing` : `rows ${from}-${to} are missing`;
}

/** Each chain's anchor from the newest retention entry (none: every chain starts at seq 1 after the zero hash). */
async function latestAnchors(pool: PoolClient): Promise<Map<string, ChainAnchor>> {
  const { rows } = await pool.query<{ after: { anchors?: Record<string, ChainAnchor> } | null }>(
    "SELECT after FROM audit_log WHERE chain = 'metadata' AND action = $1 ORDER BY seq DESC LIMIT 1",
    [PRUNED_ACTION],
  );
  return new Map(Object.entries(rows[0]?.after?.anchors ?? {}));
}

function digestFieldsOf(chain: AuditChain, row: VerifiedRow) {
  return {
    chain,
    at: row.at,
    actorUserId: row.actor_user_id,
    actorEmail: row.actor_email,
    actorTokenId: row.actor_token_id,
    actorSessionId: row.actor_session_id,
    actorService: row.actor_service,
    channel: row.channel,
    clientAddress: row.client_address,
    userAgent: row.user_agent,
    requestId: row.request_id,
    action: row.action,
    outcome: row.outcome,
    workspace: row.workspace,
    targetType: row.target_type,
    targetId: row.target_id,
    targetName: row.target_name,
    before: row.before,
    after: row.after,
  };
}
