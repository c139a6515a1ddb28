import { Pool } from 'pg';
import type { Logger } from '@ocireg/logger';
import { PostgresConsumer } from './postgres-consumer';
import { PostgresEventLog } from './postgres-event-log';
import { retryUntilStopped } from './retry';
import type { EventPublisher, EventTransport, OutgoingMessage } from './types';

export interface PostgresTransportOptions {
  databaseUrl: string;
  logger: Logger;
  /** Fallback poll when a notification is missed; default 1 s. */
  pollIntervalMs?: number;
  /** Messages read per query; default 100. */
  batchSize?: number;
  /** First wait before retrying a failing handler. */
  handlerRetryInitialMs?: number;
  /** How long messages are kept (default 7 days, as Kafka's retention.ms). */
  retentionMs?: number;
}

/** Events through a PostgreSQL table (embedded mode): one partition per topic, LISTEN/NOTIFY wake-ups. */
export function createPostgresTransport(options: PostgresTransportOptions): EventTransport {
  const pool = new Pool({ connectionString: options.databaseUrl, max: 5 });
  pool.on('error', (err) => options.logger.warn({ err }, 'idle event log connection failed'));
  const log = new PostgresEventLog(pool, options.retentionMs);
  const open = new Set<{ disconnect(): Promise<void> }>();
  const track = <T extends { disconnect(): Promise<void> }>(endpoint: T): T => {
    open.add(endpoint);
    return endpoint;
  };
  return {
    publisher: () => track(new PostgresPublisher(log, options.logger)),
    consumer: (groupId) =>
      track(
        new PostgresConsumer(log, groupId, {
          databaseUrl: options.databaseUrl,
          logger: options.logger,
          pollIntervalMs: options.pollIntervalMs ?? 1_000,
          batchSize: options.batchSize ?? 100,
          handlerRetryInitialMs: options.handlerRetryInitialMs,
        }),
      ),
    async close() {
      await Promise.allSettled([...open].map((endpoint) => endpoint.disconnect()));
      open.clear();
      await pool.end();
    },
  };
}

class PostgresPublisher implements EventPublisher {
  private readonly stopping = new AbortController();

  constructor(
    private readonly log: PostgresEventLog,
    private readonly logger: Logger,
  ) {}

  async connect(): Promise<void> {
    await retryUntilStopped(() => this.log.ensureSchema(), {
      signal: this.stopping.signal,
      onFailure: (err, attempt, retryInMs) => this.logger.warn({ err, attempt, retryInMs }, 'PostgreSQL not reachable yet; retrying'),
    });
  }

  /** Topics need no creation in the log; this makes sure the tables exist. */
  async ensureTopics(): Promise<void> {
    await this.log.ensureSchema();
  }

  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.stopping.signal.aborted) throw new Error('the publisher is disconnected');
    await this.log.append(topic, messages);
  }

  async disconnect(): Promise<void> {
    this.stopping.abort();
  }
}
