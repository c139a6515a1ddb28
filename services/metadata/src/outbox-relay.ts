import { REGISTRY_EVENTS_TOPIC, type EventPublisher } from '@ocireg/events';
import { Client, type Pool } from 'pg';
import type { Logger } from '@ocireg/logger';
import { OUTBOX_CHANNEL } from './outbox';

/** Published rows are kept a day (for inspection), then deleted. */
const PUBLISHED_RETENTION_HOURS = 24;
/** How often the relay looks for published rows to delete. */
const PRUNE_EVERY_MS = 10 * 60 * 1000;
/** Only one relay publishes at a time (per-repository order across replicas). */
const RELAY_LOCK = 'ocireg:outbox-relay';

export interface OutboxRelayDeps {
  pool: Pool;
  publisher: EventPublisher;
  logger: Logger;
  pollMs: number;
  batchSize?: number;
  /** For LISTEN: a commit of outbox rows wakes the relay at once (polling stays as the fallback). */
  databaseUrl?: string;
}

/**
 * Publishes the outbox to the event transport (Kafka, or the PostgreSQL event
 * log) in id order, keyed by repository, and marks rows published only after
 * the transport stored them (at least once). While it is down, rows wait and
 * the relay retries with backoff.
 */
export class OutboxRelay {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private listener: Client | undefined;
  private wake: (() => void) | undefined;
  /** A commit was announced while a batch was being published: go again at once. */
  private notified = false;
  private lastPrune = 0;

  constructor(private readonly deps: OutboxRelayDeps) {}

  start(): void {
    if (this.deps.databaseUrl) void this.listen(this.deps.databaseUrl);
    const loop = async (failures: number) => {
      if (this.stopped) return;
      this.wake = undefined;
      let delay = this.deps.pollMs;
      try {
        this.running = this.publishOnce().then(async () => {
          if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) await this.prunePublished();
        });
        await this.running;
        failures = 0;
      } catch (err) {
        failures += 1;
        delay = Math.min(this.deps.pollMs * 2 ** failures, 10_000);
        this.deps.logger.warn({ err, retryInMs: delay }, 'outbox relay could not publish; events wait in the outbox');
      }
      if (this.stopped) return;
      if (failures === 0 && this.notified) delay = 0;
      this.notified = false;
      const next = () => {
        clearTimeout(this.timer);
        this.wake = undefined;
        void loop(failures);
      };
      this.timer = setTimeout(next, delay);
      // Only a healthy relay wakes early; after a failure it keeps its backoff.
      if (failures === 0) this.wake = next;
    };
    void loop(0);
  }

  /** A dedicated connection LISTENs for outbox commits; on loss it reconnects, and polling covers the gap. */
  private async listen(databaseUrl: string): Promise<void> {
    while (!this.stopped) {
      const client = new Client({ connectionString: databaseUrl });
      try {
        const lost = new Promise<void>((resolve) => {
          client.once('error', () => resolve());
          client.once('end', () => resolve());
        });
        await client.connect();
        client.on('notification', () => (this.wake ? this.wake() : (this.notified = true)));
        await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
        this.listener = client;
        await lost;
      } catch (err) {
        if (!this.stopped) this.deps.logger.warn({ err }, 'outbox relay cannot LISTEN; polling only until it reconnects');
      } finally {
        this.listener = undefined;
        await client.end().catch(() => undefined);
      }
      if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.listener?.end().catch(() => undefined);
    await this.running?.catch(() => undefined);
  }

  /** Events not yet published and the age of the oldest, for the lag metrics (an outage of Kafka shows here). */
  async backlog(): Promise<{ events: number; oldestAgeSeconds: number }> {
    const { rows } = await this.deps.pool.query<{ events: string; oldest_age: number | null }>(
      'SELECT count(*) AS events, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest_age FROM outbox WHERE published_at IS NULL',
    );
    return { events: Number(rows[0]?.events ?? 0), oldestAgeSeconds: Math.max(rows[0]?.oldest_age ?? 0, 0) };
  }

  /** Deletes rows published more than a day ago: the outbox is a queue, not an archive (the event transport and metadata's tables are). */
  async prunePublished(): Promise<number> {
    this.lastPrune = Date.now();
    const deleted = await this.deps.pool.query("DELETE FROM outbox WHERE published_at < now() - $1 * interval '1 hour'", [PUBLISHED_RETENTION_HOURS]);
    return deleted.rowCount ?? 0;
  }

  /** One batch; returns how many events were published. */
  async publishOnce(): Promise<number> {
    const client = await this.deps.pool.connect();
    try {
      const { rows: lock } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [RELAY_LOCK]);
      if (!lock[0]?.locked) return 0;
      try {
        const { rows } = await client.query<{ id: string; repository: string; envelope: unknown }>(
          'SELECT id, repository, envelope FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1',
          [this.deps.batchSize ?? 500],
        );
        if (rows.length === 0) return 0;
        await this.deps.publisher.send(REGISTRY_EVENTS_TOPIC, rows.map((row) => ({ key: row.repository, value: JSON.stringify(row.envelope) })));
        await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [rows.map((row) => row.id)]);
        return rows.length;
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [RELAY_LOCK]);
      }
    } finally {
      client.release();
    }
  }
}
