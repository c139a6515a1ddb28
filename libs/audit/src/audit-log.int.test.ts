// The audit log against a real PostgreSQL: chained rows in the change's
// transaction, append-only for the services' role (privileges) and for
// everyone (triggers), tampering found by verify, retention with anchors.
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { inTransaction } from '@ocireg/postgres';
import { createDatabase } from '@ocireg/testenv';
import { chainedHash, entryDigest } from './entry-digest';
import { AuditQuery, migrateAuditLog, pruneAuditLog, recordAudit, SecretInAuditEntry, verifyAuditLog, type AuditChain, type AuditOrigin } from './index';

const logger = createLogger({ service: 'test', level: 'silent' });

const origin = (service: AuditChain, userId = '00000000-0000-4000-8000-000000000001'): AuditOrigin => ({
  service,
  userId,
  email: 'someone@example.com',
  tokenId: '0123456789abcdef',
  sessionId: '',
  actorService: '',
  channel: 'admin-api',
  clientAddress: '192.0.2.10',
  userAgent: 'registryctl/1 \u0000with a NUL',
  requestId: `req-${randomBytes(4).toString('hex')}`,
});

/** A fresh database with the log's tables: verify looks at every row, so each test file's tampering stays its own. */
async function freshLog(prefix: string): Promise<{ url: string; pool: Pool }> {
  const url = await createDatabase(process.env.DATABASE_URL!, prefix);
  await migrateAuditLog(url, logger);
  await migrateAuditLog(url, logger); // idempotent
  return { url, pool: new Pool({ connectionString: url }) };
}

/** Runs SQL with the triggers off: what a superuser could do behind the services' back. */
async function asSuperuserBehindTriggers(url: string, sql: string, params: unknown[] = []): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET session_replication_role = 'replica'");
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

const record = (pool: Pool, service: AuditChain, action: string, extra: Partial<Parameters<typeof recordAudit>[2]> = {}) =>
  inTransaction(pool, (client) => recordAudit(client, origin(service), { action, workspace: 'acme', target: { type: 'tag', name: `acme/api:${action}` }, before: { digest: 'sha256:aa' }, after: { digest: 'sha256:bb', tags: ['v1', 'v2'] }, ...extra }));

describe('the audit log', () => {
  let log: { url: string; pool: Pool };
  beforeAll(async () => {
    log = await freshLog('audit');
  });
  afterAll(async () => {
    await log.pool.end();
  });

  it('chains each service\'s entries in order and verifies them', async () => {
    for (let i = 0; i < 5; i++) await record(log.pool, 'metadata', `tag.updated`);
    for (let i = 0; i < 3; i++) await record(log.pool, 'auth', 'token.created');
    const { rows } = await log.pool.query<{ chain: string; seq: string; user_agent: string }>('SELECT chain, seq, user_agent FROM audit_log ORDER BY id');
    expect(rows.filter((r) => r.chain === 'metadata').map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
    expect(rows.filter((r) => r.chain === 'auth').map((r) => Number(r.seq))).toEqual([1, 2, 3]);
    expect(rows[0]!.user_agent).toBe('registryctl/1  with a NUL');
    const verified = await verifyAuditLog(log.pool);
    expect(verified.problems).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(verified.chains.find((c) => c.chain === 'metadata')).toMatchObject({ rows: 5, firstSeq: 1, lastSeq: 5, headSeq: 5 });
  });

  it('keeps nothing of a change that rolled back, not even its place in the chain', async () => {
    const before = await log.pool.query<{ seq: string }>("SELECT seq FROM audit_chain_heads WHERE chain = 'metadata'");
    await expect(
      inTransaction(log.pool, async (client) => {
        await recordAudit(client, origin('metadata'), { action: 'tag.deleted', target: { type: 'tag', name: 'x' } });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const after = await log.pool.query<{ seq: string }>("SELECT seq FROM audit_chain_heads WHERE chain = 'metadata'");
    expect(after.rows[0]!.seq).toBe(before.rows[0]!.seq);
    expect((await verifyAuditLog(log.pool)).ok).toBe(true);
  });

  it('refuses UPDATE, DELETE and TRUNCATE, even from a superuser, and heads that move backwards', async () => {
    await expect(log.pool.query("UPDATE audit_log SET actor_email = 'someone-else@example.com'")).rejects.toThrow(/append-only/);
    await expect(log.pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(log.pool.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    await expect(log.pool.query("UPDATE audit_chain_heads SET seq = seq - 1 WHERE chain = 'metadata'")).rejects.toThrow(/forward/);
    await expect(log.pool.query('DELETE FROM audit_chain_heads')).rejects.toThrow(/forward/);
    // Naming a retention period does not open up recent rows.
    await expect(
      inTransaction(log.pool, async (client) => {
        await client.query("SELECT set_config('ocireg.audit_retention_days', '1', true)");
        await client.query('DELETE FROM audit_log');
      }),
    ).rejects.toThrow(/append-only/);
    // A writer cannot choose its row's place or hash: the trigger sets them.
    await inTransaction(log.pool, (client) =>
      client.query(
        `INSERT INTO audit_log (chain, seq, prev_hash, hash, entry_digest, at, action, target_type) VALUES ('metadata', 999, '\\x00', '\\x00', sha256('x'), now(), 'forged', 'x')`,
      ),
    );
    const { rows } = await log.pool.query<{ seq: string }>("SELECT seq FROM audit_log WHERE action = 'forged'");
    expect(Number(rows[0]!.seq)).not.toBe(999);
    // ...but its digest is not that of its content, which verify says.
    const verified = await verifyAuditLog(log.pool);
    expect(verified.problems).toEqual([expect.objectContaining({ chain: 'metadata', seq: Number(rows[0]!.seq), problem: expect.stringContaining('changed after it was written') })]);
  });

  it('refuses summaries that would hold a secret', async () => {
    await expect(record(log.pool, 'auth', 'token.created', { after: { name: 'ci', secret: 'ocireg_...' } })).rejects.toThrow(SecretInAuditEntry);
    await expect(record(log.pool, 'auth', 'user.updated', { after: { password: 'x' } })).rejects.toThrow(SecretInAuditEntry);
  });
});

describe('tampering behind the triggers', () => {
  it('is reported by verify with the row it touched: an edit, a removal in the middle, a removal at the end', async () => {
    const log = await freshLog('audit_tamper');
    try {
      for (let i = 0; i < 6; i++) await record(log.pool, 'metadata', 'manifest.deleted');
      expect((await verifyAuditLog(log.pool)).ok).toBe(true);

      await asSuperuserBehindTriggers(log.url, "UPDATE audit_log SET actor_email = 'nobody@example.com' WHERE chain = 'metadata' AND seq = 2");
      let verified = await verifyAuditLog(log.pool);
      expect(verified.ok).toBe(false);
      expect(verified.problems).toEqual([expect.objectContaining({ chain: 'metadata', seq: 2, problem: expect.stringContaining('changed after it was written') })]);

      // Rewriting a row with a digest and hash that fit its new content does not help: the next row no longer follows it.
      const { rows } = await log.pool.query('SELECT * FROM audit_log WHERE chain = $1 AND seq = 4', ['metadata']);
      const row = rows[0];
      const after = { digest: 'sha256:cc' };
      const digest = entryDigest({
        chain: 'metadata', at: row.at, actorUserId: row.actor_user_id, actorEmail: row.actor_email, actorTokenId: row.actor_token_id, actorSessionId: row.actor_session_id,
        actorService: row.actor_service, channel: row.channel, clientAddress: row.client_address, userAgent: row.user_agent, requestId: row.request_id, action: row.action,
        outcome: row.outcome, workspace: row.workspace, targetType: row.target_type, targetId: row.target_id, targetName: row.target_name, before: row.before, after,
      });
      await asSuperuserBehindTriggers(log.url, 'UPDATE audit_log SET after = $1, entry_digest = $2, hash = $3 WHERE chain = $4 AND seq = 4', [JSON.stringify(after), digest, chainedHash(row.prev_hash, digest), 'metadata']);
      verified = await verifyAuditLog(log.pool);
      expect(verified.problems.map((p) => [p.seq, p.problem])).toEqual([
        [2, expect.stringContaining('changed after it was written')],
        [5, expect.stringContaining('does not follow the one before it')],
      ]);

      await asSuperuserBehindTriggers(log.url, "DELETE FROM audit_log WHERE chain = 'metadata' AND seq IN (3, 6)");
      verified = await verifyAuditLog(log.pool);
      expect(verified.problems.map((p) => [p.seq, p.problem])).toEqual([
        [2, expect.stringContaining('changed after it was written')],
        [3, 'row 3 is missing'],
        [4, expect.stringContaining('does not follow the one before it')],
        [5, expect.stringContaining('does not follow the one before it')],
        [6, 'row 6 is missing at the end of the chain'],
      ]);
    } finally {
      await log.pool.end();
    }
  });
});

describe('the services\' database role', () => {
  it('owns the tables after migrating them, and still cannot update or truncate the log', async () => {
    const role = `audit_owner_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    const database = `audit_role_${randomBytes(4).toString('hex')}`;
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      await admin.query(`CREATE DATABASE ${database} OWNER ${role}`);
      const url = new URL(process.env.DATABASE_URL!);
      url.username = role;
      url.pathname = `/${database}`;
      await migrateAuditLog(url.toString(), logger);
      const pool = new Pool({ connectionString: url.toString() });
      try {
        await record(pool, 'metadata', 'workspace.created');
        await expect(pool.query("UPDATE audit_log SET action = 'nothing'")).rejects.toThrow(/permission denied/);
        await expect(pool.query('TRUNCATE audit_log')).rejects.toThrow(/permission denied/);
        await expect(pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
        await expect(pool.query('DELETE FROM audit_chain_heads')).rejects.toThrow(/permission denied/);
        expect((await verifyAuditLog(pool)).ok).toBe(true);
      } finally {
        await pool.end();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    }
  });
});

describe('retention', () => {
  it('deletes only entries older than the period, records where each chain starts, and verify still passes', async () => {
    const log = await freshLog('audit_retention');
    try {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 40 * 86_400_000 });
      for (let i = 0; i < 3; i++) await record(log.pool, 'metadata', 'tag.updated');
      for (let i = 0; i < 2; i++) await record(log.pool, 'auth', 'session.sign-in');
      vi.useRealTimers();
      for (let i = 0; i < 2; i++) await record(log.pool, 'metadata', 'tag.deleted');

      expect(await pruneAuditLog(log.pool, 30)).toEqual({ metadata: 3, auth: 2 });
      const { rows } = await log.pool.query<{ chain: string; seq: string; action: string }>('SELECT chain, seq, action FROM audit_log ORDER BY chain, seq');
      expect(rows.map((r) => `${r.chain}:${r.seq}:${r.action}`)).toEqual(['metadata:4:tag.deleted', 'metadata:5:tag.deleted', 'metadata:6:audit.pruned']);
      expect((await verifyAuditLog(log.pool)).problems).toEqual([]);
      // Nothing old left: nothing deleted, nothing recorded.
      expect(await pruneAuditLog(log.pool, 30)).toEqual({});
      await record(log.pool, 'auth', 'session.sign-in');
      expect((await verifyAuditLog(log.pool)).ok).toBe(true);
      // Removing the oldest remaining row is not retention.
      await asSuperuserBehindTriggers(log.url, "DELETE FROM audit_log WHERE chain = 'metadata' AND seq = 4");
      expect((await verifyAuditLog(log.pool)).problems.map((p) => [p.seq, p.problem])).toEqual([
        [4, 'row 4 is missing'],
        [5, expect.stringContaining('does not follow the one before it')],
      ]);
      await expect(pruneAuditLog(log.pool, 0)).rejects.toThrow(/at least 1/);
    } finally {
      vi.useRealTimers();
      await log.pool.end();
    }
  });
});

describe('queries', () => {
  it('filter by workspace, actor, action, target and time, newest first, a page at a time', async () => {
    const log = await freshLog('audit_query');
    const query = new AuditQuery(log.pool);
    const alice = '00000000-0000-4000-8000-00000000000a';
    try {
      for (let i = 0; i < 7; i++) {
        await inTransaction(log.pool, (client) =>
          recordAudit(client, origin('metadata', i % 2 ? alice : origin('metadata').userId), { action: i < 4 ? 'tag.updated' : 'tag.deleted', workspace: i < 5 ? 'acme' : 'other', target: { type: 'tag', id: `t${i}`, name: `acme/api:v${i}` } }),
        );
      }
      const all = await query.list({}, 3, '');
      expect(all.entries.map((e) => e.target.id)).toEqual(['t6', 't5', 't4']);
      const next = await query.list({}, 3, all.nextPageToken);
      expect(next.entries.map((e) => e.target.id)).toEqual(['t3', 't2', 't1']);
      const last = await query.list({}, 3, next.nextPageToken);
      expect(last.entries.map((e) => e.target.id)).toEqual(['t0']);
      expect(last.nextPageToken).toBe('');
      expect((await query.list({ workspace: 'acme', action: 'tag.deleted' }, 0, '')).entries.map((e) => e.target.id)).toEqual(['t4']);
      expect((await query.list({ actorUserId: alice }, 0, '')).entries.map((e) => e.target.id)).toEqual(['t5', 't3', 't1']);
      expect((await query.list({ action: 'tag.*', target: 'acme/api:v2' }, 0, '')).entries.map((e) => e.target.id)).toEqual(['t2']);
      expect((await query.list({ target: 't6' }, 0, '')).entries).toHaveLength(1);
      expect((await query.list({ since: new Date(Date.now() + 60_000).toISOString() }, 0, '')).entries).toEqual([]);
      const [entry] = (await query.list({ target: 't0' }, 0, '')).entries;
      expect(entry).toMatchObject({ chain: 'metadata', seq: 1, actor: { email: 'someone@example.com', tokenId: '0123456789abcdef' }, clientAddress: '192.0.2.10', channel: 'admin-api' });
      for (const bad of [{ workspace: "acme'; --" }, { actorUserId: 'me' }, { action: 'DROP TABLE' }, { since: 'yesterday' }]) {
        await expect(query.list(bad, 0, '')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      await expect(query.list({}, 0, 'bm90IGEgdG9rZW4')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'page_token' } });
    } finally {
      await log.pool.end();
    }
  });
});
