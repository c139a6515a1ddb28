import type { Pool } from 'pg';
import { inTransaction } from '@ocireg/postgres';
import type { OutgoingMessage } from './types';

/** One channel for every topic; the payload names the topic (channel names are identifiers, topics have dots). */
export const NOTIFY_CHANNEL = 'ocireg_events';
/** The only partition of a topic in the log: order is global, so it holds per key too. */
export const LOG_PARTITION = 0;

const SCHEMA_LOCK = 'ocireg:event-log:schema';
/** Rows per INSERT, under PostgreSQL's 65535 bind parameters (3 per row). */
const ROWS_PER_INSERT = 1000;

/** Advisory lock key of a name (64-bit hash, PostgreSQL 11+). */
export const LOCK_KEY_SQL = 'hashtextextended($1, 0)';

/**
 * The PostgreSQL event log shared by publishers and consumers: a table of
 * messages in offset order and a table of each group's committed offset.
 */
/** Like Kafka's default retention.ms: a consumer group that is a week behind loses what is older. */
export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;
/** How often appends also prune expired messages. */
const PRUNE_EVERY_MS = 10 * 60 * 1000;

export class PostgresEventLog {
  private schema: Promise<void> | undefined;
  private lastPrune = 0;

  constructor(
    readonly pool: Pool,
    private readonly retentionMs = DEFAULT_RETENTION_MS,
  ) {}

  /** Deletes messages older than the retention; returns how many. Appends call it now and then. */
  async prune(): Promise<number> {
    await this.ensureSchema();
    this.lastPrune = Date.now();
    const deleted = await this.pool.query("DELETE FROM event_log WHERE created_at < now() - $1 * interval '1 millisecond'", [this.retentionMs]);
    return deleted.rowCount ?? 0;
  }

  /** Creates the tables once per process; concurrent creators in other processes wait on an advisory lock. */
  ensureSchema(): Promise<void> {
    this.schema ??= inTransaction(this.pool, async (client) => {
      // CREATE ... IF NOT EXISTS alone still fails when two sessions create the same table at once.
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY_SQL})`, [SCHEMA_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS event_log (
        event_offset bigserial PRIMARY KEY,
        topic text NOT NULL,
        key text NOT NULL,
        value bytea NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
      await client.query('CREATE INDEX IF NOT EXISTS event_log_topic_offset ON event_log (topic, event_offset)');
      await client.query(`CREATE TABLE IF NOT EXISTS event_consumer_offsets (
        group_id text NOT NULL,
        topic text NOT NULL,
        committed_offset bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, topic)
      )`);
    }).catch((err: unknown) => {
      this.schema = undefined; // the next call tries again
      throw err;
    });
    return this.schema;
  }

  /** Appends messages in order and wakes the consumers when the transaction commits. */
  async append(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.ensureSchema();
    await inTransaction(this.pool, async (client) => {
      // Appends to a topic take turns, so offsets become visible in increasing order:
      // a consumer that read offset n never misses an n-1 that committed later.
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY_SQL})`, [`ocireg:event-log:topic:${topic}`]);
      for (let start = 0; start < messages.length; start += ROWS_PER_INSERT) {
        const chunk = messages.slice(start, start + ROWS_PER_INSERT);
        const params: unknown[] = [topic];
        const rows = chunk.map((message) => {
          params.push(message.key, Buffer.isBuffer(message.value) ? message.value : Buffer.from(message.value, 'utf8'), JSON.stringify(message.headers ?? {}));
          const at = params.length;
          return `($1, $${at - 2}, $${at - 1}, $${at}::jsonb)`;
        });
        // VALUES rows take their offsets in the order written.
        await client.query(`INSERT INTO event_log (topic, key, value, headers) VALUES ${rows.join(', ')}`, params);
      }
      await client.query('SELECT pg_notify($1, $2)', [NOTIFY_CHANNEL, topic]);
    });
    // The log would otherwise grow forever; pruning is best effort and never fails an append.
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) await this.prune().catch(() => undefined);
  }

  /** Messages of the topic after the group's committed offset (all of them when it has none). */
  async lag(groupId: string, topic: string): Promise<number> {
    await this.ensureSchema();
    const { rows } = await this.pool.query<{ lag: string }>(
      `SELECT count(*) AS lag FROM event_log
       WHERE topic = $1 AND event_offset > coalesce((SELECT committed_offset FROM event_consumer_offsets WHERE group_id = $2 AND topic = $1), 0)`,
      [topic, groupId],
    );
    return Number(rows[0]?.lag ?? 0);
  }
}
