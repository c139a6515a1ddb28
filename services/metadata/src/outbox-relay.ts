import type { Producer } from 'kafkajs';
import type { Pool } from 'pg';
import type { Logger } from '@ocireg/logger';

export const EVENTS_TOPIC = 'registry.events';
/** Only one relay publishes at a time (per-repository order across replicas). */
const RELAY_LOCK = 'ocireg:outbox-relay';

export interface OutboxRelayDeps {
  pool: Pool;
  producer: Producer;
  logger: Logger;
  pollMs: number;
  batchSize?: number;
}

/**
 * Publishes the outbox to Kafka in id order, keyed by repository, and marks
 * rows published only after Kafka acknowledged them (at least once). While
 * Kafka is down, rows wait and the relay retries with backoff.
 */
export class OutboxRelay {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: OutboxRelayDeps) {}

  start(): void {
    const loop = async (failures: number) => {
      if (this.stopped) return;
      let delay = this.deps.pollMs;
      try {
        this.running = this.publishOnce().then(() => undefined);
        await this.running;
        failures = 0;
      } catch (err) {
        failures += 1;
        delay = Math.min(this.deps.pollMs * 2 ** failures, 10_000);
        this.deps.logger.warn({ err, retryInMs: delay }, 'outbox relay could not publish; events wait in the outbox');
      }
      if (!this.stopped) this.timer = setTimeout(() => void loop(failures), delay);
    };
    void loop(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** Events not yet published and the age of the oldest, for the lag metrics (an outage of Kafka shows here). */
  async backlog(): Promise<{ events: number; oldestAgeSeconds: number }> {
    const { rows } = await this.deps.pool.query<{ events: string; oldest_age: number | null }>(
      'SELECT count(*) AS events, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS oldest_age FROM outbox WHERE published_at IS NULL',
    );
    return { events: Number(rows[0]?.events ?? 0), oldestAgeSeconds: Math.max(rows[0]?.oldest_age ?? 0, 0) };
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
        try {
          await this.deps.producer.send({
            topic: EVENTS_TOPIC,
            acks: -1,
            messages: rows.map((row) => ({ key: row.repository, value: JSON.stringify(row.envelope) })),
          });
        } catch (err) {
          // The next attempt starts from a fresh connection (connect is a no-op when connected).
          await this.deps.producer.connect().catch(() => undefined);
          throw err;
        }
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
