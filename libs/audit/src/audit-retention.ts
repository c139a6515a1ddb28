import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '@ocireg/postgres';
import { AUDIT_CHAINS, serviceOrigin, type Summary } from './audit-entry';
import { PRUNED_ACTION, type ChainAnchor } from './audit-verify';
import { recordAudit } from './record-audit';

/** The shortest retention the log allows (its trigger refuses deleting younger rows whatever is asked). */
export const MIN_RETENTION_DAYS = 1;

/**
 * Deletes entries older than `retentionDays`, every chain, in one
 * transaction that tells the log's trigger the period (it refuses any
 * younger row), and records `audit.pruned` with what went and where each
 * chain now starts (its anchor), so `verify` tells retention from removal.
 * Nothing deleted: nothing recorded. Returns the rows deleted per chain.
 */
export async function pruneAuditLog(pool: Pool, retentionDays: number): Promise<Record<string, number>> {
  if (!Number.isSafeInteger(retentionDays) || retentionDays < MIN_RETENTION_DAYS) throw new Error(`audit retention must be a whole number of days, at least ${MIN_RETENTION_DAYS}`);
  return inTransaction(pool, async (client) => {
    // One pruner at a time (every metadata replica runs one): the others find nothing to do.
    const { rows: lock } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext('ocireg:audit-retention')) AS locked");
    if (!lock[0]?.locked) return {};
    await client.query("SELECT set_config('ocireg.audit_retention_days', $1, true)", [String(retentionDays)]);
    const { rows } = await client.query<{ chain: string; deleted: string; through: string }>(
      `WITH gone AS (DELETE FROM audit_log WHERE at < now() - make_interval(days => $1) RETURNING chain, seq)
       SELECT chain, count(*) AS deleted, max(seq) AS through FROM gone GROUP BY chain`,
      [retentionDays],
    );
    const removed = Object.fromEntries(rows.map((row) => [row.chain, Number(row.deleted)]));
    if (rows.length === 0) return removed;
    const anchors = await anchorsNow(client);
    await recordAudit(client, serviceOrigin('metadata', 'metadata/audit-retention'), {
      action: PRUNED_ACTION,
      target: { type: 'audit-log', name: 'audit_log' },
      after: { retentionDays, removed, anchors: anchors as unknown as Summary },
    });
    return removed;
  });
}

/** Where each chain starts now: its first row's seq and prev_hash, or (no rows) the position after its head. */
async function anchorsNow(client: PoolClient): Promise<Record<string, ChainAnchor>> {
  const anchors: Record<string, ChainAnchor> = {};
  for (const chain of AUDIT_CHAINS) {
    const { rows } = await client.query<{ seq: string; prev_hash: Buffer }>('SELECT seq, prev_hash FROM audit_log WHERE chain = $1 ORDER BY seq LIMIT 1', [chain]);
    if (rows[0]) {
      anchors[chain] = { firstSeq: Number(rows[0].seq), prevHash: rows[0].prev_hash.toString('hex') };
      continue;
    }
    const { rows: heads } = await client.query<{ seq: string; hash: Buffer }>('SELECT seq, hash FROM audit_chain_heads WHERE chain = $1', [chain]);
    if (heads[0]) anchors[chain] = { firstSeq: Number(heads[0].seq) + 1, prevHash: heads[0].hash.toString('hex') };
  }
  return anchors;
}
