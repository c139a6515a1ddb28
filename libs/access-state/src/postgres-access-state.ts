import { Client, Pool } from 'pg';
import type { Logger } from '@ocireg/logger';
import { inTransaction } from '@ocireg/postgres';
import { backoff, DEFAULT_CLIENT_NAME, sleep, type AccessSnapshot, type AccessStateListener, type AccessStateReader, type AccessStateWriter, type ReaderOptions } from './access-state';
import { accessMessage, parseAccessMessage, POSTGRES_NAMES, type AccessSubject } from './names';
import { ensureSchema } from './postgres-schema';

const { revokedTokens, accessEpochs, revocationChannel, accessChannel } = POSTGRES_NAMES;

function newPool(url: string, applicationName: string, logger: Logger): Pool {
  const pool = new Pool({ connectionString: url, max: 2, application_name: applicationName });
  // An idle client killed by the server must not crash the process; the pool replaces it.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'access state: idle PostgreSQL client failed'));
  return pool;
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class PostgresAccessStateWriter implements AccessStateWriter {
  private readonly pool: Pool;

  constructor(url: string, logger: Logger) {
    this.pool = newPool(url, DEFAULT_CLIENT_NAME, logger);
  }

  async revokeToken(tokenId: string, expiresAt: Date): Promise<void> {
    await ensureSchema(this.pool);
    // NOTIFY is delivered at COMMIT: a listener never hears of a row it cannot read yet.
    await inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO ${revokedTokens} (token_id, expires_at) VALUES ($1, $2)
         ON CONFLICT (token_id) DO UPDATE SET expires_at = GREATEST(${revokedTokens}.expires_at, EXCLUDED.expires_at)`,
        [tokenId, expiresAt],
      );
      // Pruning here keeps the table to live tokens without a separate job.
      await client.query(`DELETE FROM ${revokedTokens} WHERE expires_at <= now()`);
      await client.query('SELECT pg_notify($1, $2)', [revocationChannel, tokenId]);
    });
  }

  async accessChanged(subject: AccessSubject): Promise<void> {
    await ensureSchema(this.pool);
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ epoch_ms: string }>(
        `INSERT INTO ${accessEpochs} (subject, epoch_ms) VALUES ($1, $2)
         ON CONFLICT (subject) DO UPDATE SET epoch_ms = GREATEST(${accessEpochs}.epoch_ms, EXCLUDED.epoch_ms)
         RETURNING epoch_ms`,
        [subject, Date.now()],
      );
      await client.query('SELECT pg_notify($1, $2)', [accessChannel, accessMessage(subject, Number(rows[0]!.epoch_ms))]);
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Reads through a small pool and listens on a dedicated client (LISTEN belongs to one session). */
export class PostgresAccessStateReader implements AccessStateReader {
  private readonly pool: Pool;
  private readonly applicationName: string;
  private listening?: Client;
  private listener?: AccessStateListener;
  private closed = false;

  constructor(private readonly url: string, private readonly logger: Logger, options: ReaderOptions = {}) {
    this.applicationName = options.clientName ?? DEFAULT_CLIENT_NAME;
    this.pool = newPool(url, this.applicationName, logger);
  }

  async load(): Promise<AccessSnapshot> {
    await ensureSchema(this.pool);
    const [revoked, epochs] = await Promise.all([
      this.pool.query<{ token_id: string }>(`SELECT token_id FROM ${revokedTokens} WHERE expires_at > now()`),
      this.pool.query<{ subject: string; epoch_ms: string }>(`SELECT subject, epoch_ms FROM ${accessEpochs}`),
    ]);
    return { revokedTokens: revoked.rows.map((row) => row.token_id), accessEpochs: new Map(epochs.rows.map((row) => [row.subject, Number(row.epoch_ms)])) };
  }

  async watch(listener: AccessStateListener): Promise<void> {
    this.listener = listener;
    // Listen before loading: a change between the two is then seen twice, never missed.
    await this.listen();
    listener.onSnapshot(await this.load());
  }

  private async listen(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: this.applicationName });
    client.on('notification', ({ channel, payload }) => this.dispatch(channel, payload ?? ''));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${revocationChannel}; LISTEN ${accessChannel}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listening = client;
  }

  private dispatch(channel: string, payload: string): void {
    if (channel === revocationChannel) this.listener?.onRevoked(payload);
    const change = channel === accessChannel ? parseAccessMessage(payload) : undefined;
    if (change) this.listener?.onAccessChanged(change.subject, change.epochMs);
  }

  /** The listening session is gone (server restart, killed backend, network): notifications sent meanwhile are lost. */
  private lost(client: Client, err?: Error): void {
    if (this.closed || client !== this.listening) return;
    this.listening = undefined;
    this.logger.warn({ err: err?.message }, 'access state: PostgreSQL listener lost; reconnecting');
    client.end().catch(() => undefined);
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    const delays = backoff();
    while (!this.closed && !this.listening) {
      try {
        await this.listen();
      } catch (err) {
        this.logger.warn({ err: messageOf(err) }, 'access state: PostgreSQL listener reconnect failed; retrying');
        await sleep(delays.next().value as number);
      }
    }
    // Listening again: reload what was written while nobody listened.
    while (!this.closed) {
      try {
        this.listener?.onSnapshot(await this.load());
        this.logger.info('access state reloaded after a PostgreSQL reconnect');
        return;
      } catch (err) {
        this.logger.warn({ err: messageOf(err) }, 'access state: reload after reconnect failed; retrying');
        await sleep(delays.next().value as number);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.listening;
    this.listening = undefined;
    await Promise.all([client?.end().catch(() => undefined), this.pool.end()]);
  }
}
