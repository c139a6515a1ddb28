import { Client } from 'pg';
import type { Logger } from '@ocireg/logger';
import { LOCK_KEY_SQL, LOG_PARTITION, NOTIFY_CHANNEL, type PostgresEventLog } from './postgres-event-log';
import { backoffDelay, handleUntilDone, retryUntilStopped, sleep } from './retry';
import type { BatchHandler, EventConsumer, IncomingMessage, MessageHandler } from './types';

export interface PostgresConsumerOptions {
  databaseUrl: string;
  logger: Logger;
  /** Fallback poll when no notification arrives, and how often a waiting consumer tries to take over. */
  pollIntervalMs: number;
  batchSize: number;
  handlerRetryInitialMs?: number;
}

interface LogRow {
  event_offset: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  created_at: Date;
}

/**
 * Consumes one topic of the event log for a group. One consumer per group is
 * active at a time (a session advisory lock on its own connection); others wait
 * and take over when its session ends. The offset is committed on that same
 * connection after each handled message, so a consumer that lost its session
 * cannot commit anymore.
 */
export class PostgresConsumer implements EventConsumer {
  private readonly stopping = new AbortController();
  private consuming: Promise<void> | undefined;
  /** Set by a notification (or stop); the next wait returns at once, so no wake-up is lost between a read and a wait. */
  private wakePending = false;
  private wakeWaiter: (() => void) | undefined;

  constructor(
    private readonly log: PostgresEventLog,
    private readonly groupId: string,
    private readonly options: PostgresConsumerOptions,
  ) {}

  async connect(): Promise<void> {
    await retryUntilStopped(() => this.log.ensureSchema(), {
      signal: this.stopping.signal,
      onFailure: (err, attempt, retryInMs) => this.options.logger.warn({ err, attempt, retryInMs, groupId: this.groupId }, 'PostgreSQL not reachable yet; retrying'),
    });
  }

  async run(topic: string, options: { fromBeginning: boolean }, handle: MessageHandler): Promise<void> {
    if (this.consuming) throw new Error('this consumer already runs; make one consumer per topic');
    this.consuming = this.consumeUntilStopped(topic, options.fromBeginning, { each: handle });
  }

  async runBatches(topic: string, options: { fromBeginning: boolean }, handle: BatchHandler): Promise<void> {
    if (this.consuming) throw new Error('this consumer already runs; make one consumer per topic');
    this.consuming = this.consumeUntilStopped(topic, options.fromBeginning, { batch: handle });
  }

  lag(topic: string): Promise<number> {
    return this.log.lag(this.groupId, topic);
  }

  async disconnect(): Promise<void> {
    this.stopping.abort();
    this.wake();
    await this.consuming;
  }

  /** Reconnects with backoff whenever the connection fails; only disconnect() ends it. */
  private async consumeUntilStopped(topic: string, fromBeginning: boolean, handle: Handlers): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        await this.consumeOnOneConnection(topic, fromBeginning, handle, () => (failures = 0));
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        failures += 1;
        const retryInMs = backoffDelay(failures);
        this.options.logger.warn({ err, groupId: this.groupId, topic, failures, retryInMs }, 'event log consumer lost PostgreSQL; reconnecting');
        await sleep(retryInMs, this.stopping.signal);
      }
    }
  }

  private async consumeOnOneConnection(topic: string, fromBeginning: boolean, handle: Handlers, onConnected: () => void): Promise<void> {
    const { logger } = this.options;
    const client = new Client({
      connectionString: this.options.databaseUrl,
      application_name: `ocireg-events:${this.groupId}`.slice(0, 63),
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
      // A server that stops answering must not hang the consumer forever.
      query_timeout: 30_000,
    });
    // Without a listener a dropped connection would crash the process; the next query fails and we reconnect.
    client.on('error', (err) => {
      logger.warn({ err, groupId: this.groupId }, 'event log consumer connection failed');
      this.wake();
    });
    client.on('notification', (notification) => {
      if (notification.payload === topic) this.wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
      if (!(await this.takeGroupLock(client, topic))) return;
      onConnected();
      let position = await this.startPosition(client, topic, fromBeginning);
      logger.info({ groupId: this.groupId, topic, after: position }, 'consuming the event log');
      while (!this.stopping.signal.aborted) {
        this.wakePending = false;
        const { rows } = await client.query<LogRow>(
          'SELECT event_offset, key, value, headers, created_at FROM event_log WHERE topic = $1 AND event_offset > $2 ORDER BY event_offset LIMIT $3',
          [topic, position, this.options.batchSize],
        );
        if (rows.length === 0) {
          await this.waitForWake();
          continue;
        }
        if (handle.batch) {
          const batchHandler = handle.batch;
          const messages = rows.map((row) => toIncomingMessage(topic, row));
          const last = rows[rows.length - 1]!.event_offset;
          await handleUntilDone(() => batchHandler(messages), {
            signal: this.stopping.signal,
            initialMs: this.options.handlerRetryInitialMs,
            onFailure: (err, failures, retryInMs) => logger.error({ err, groupId: this.groupId, topic, lastOffset: last, failures, retryInMs }, 'event batch handler failed; retrying the batch'),
          });
          if (this.stopping.signal.aborted) return;
          await this.commit(client, topic, last);
          position = last;
          continue;
        }
        const eachHandler = handle.each!;
        for (const row of rows) {
          if (this.stopping.signal.aborted) return;
          const message = toIncomingMessage(topic, row);
          await handleUntilDone(() => eachHandler(message), {
            signal: this.stopping.signal,
            initialMs: this.options.handlerRetryInitialMs,
            onFailure: (err, failures, retryInMs) => logger.error({ err, groupId: this.groupId, topic, offset: row.event_offset, failures, retryInMs }, 'event handler failed; retrying the message'),
          });
          await this.commit(client, topic, row.event_offset);
          position = row.event_offset;
        }
      }
    } finally {
      // Ending the session releases the group lock for the next consumer.
      await client.end().catch(() => undefined);
    }
  }

  /** Waits until no other consumer of the group holds the topic; false when stopped first. */
  private async takeGroupLock(client: Client, topic: string): Promise<boolean> {
    let toldWaiting = false;
    while (!this.stopping.signal.aborted) {
      const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY_SQL}) AS locked`, [`ocireg:event-log:group:${this.groupId}:${topic}`]);
      if (rows[0]?.locked) return true;
      if (!toldWaiting) this.options.logger.info({ groupId: this.groupId, topic }, 'another consumer of the group is active; waiting to take over');
      toldWaiting = true;
      await sleep(this.options.pollIntervalMs, this.stopping.signal);
    }
    return false;
  }

  /** The committed offset; a new group starts at 0 (fromBeginning) or at the end, recorded so a restart skips nothing. */
  private async startPosition(client: Client, topic: string, fromBeginning: boolean): Promise<string> {
    const { rows } = await client.query<{ committed_offset: string }>('SELECT committed_offset FROM event_consumer_offsets WHERE group_id = $1 AND topic = $2', [this.groupId, topic]);
    if (rows[0]) return rows[0].committed_offset;
    if (fromBeginning) return '0';
    const { rows: end } = await client.query<{ last: string }>('SELECT coalesce(max(event_offset), 0) AS last FROM event_log WHERE topic = $1', [topic]);
    const last = end[0]?.last ?? '0';
    await this.commit(client, topic, last);
    return last;
  }

  private async commit(client: Client, topic: string, offset: string): Promise<void> {
    await client.query(
      `INSERT INTO event_consumer_offsets (group_id, topic, committed_offset) VALUES ($1, $2, $3)
       ON CONFLICT (group_id, topic) DO UPDATE SET committed_offset = excluded.committed_offset, updated_at = now()`,
      [this.groupId, topic, offset],
    );
  }

  private wake(): void {
    this.wakePending = true;
    this.wakeWaiter?.();
  }

  private async waitForWake(): Promise<void> {
    if (this.wakePending || this.stopping.signal.aborted) return;
    const woken = new AbortController();
    this.wakeWaiter = () => woken.abort();
    try {
      await sleep(this.options.pollIntervalMs, woken.signal);
    } finally {
      this.wakeWaiter = undefined;
    }
  }
}

/** One of the two ways to be handed messages. */
interface Handlers {
  each?: MessageHandler;
  batch?: BatchHandler;
}

function toIncomingMessage(topic: string, row: LogRow): IncomingMessage {
  return { topic, partition: LOG_PARTITION, offset: row.event_offset, key: row.key, value: row.value, headers: row.headers, timestamp: row.created_at };
}
