import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresTransport, REGISTRY_EVENTS_TOPIC, type EventTransport, type IncomingMessage } from '@ocireg/events';
import { createLogger } from '@ocireg/logger';
import { inTransaction } from '@ocireg/postgres';
import { createDatabase } from '@ocireg/testenv';
import { systemOrigin } from './change-origin';
import { migrate } from './migrate';
import { recordEvent } from './outbox';
import { OutboxRelay } from './outbox-relay';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('outbox relay against PostgreSQL and the PostgreSQL event log', () => {
  let databaseUrl: string;
  let pool: Pool;
  let transport: EventTransport;

  beforeAll(async () => {
    // Its own database: no other relay may publish these rows.
    databaseUrl = await createDatabase(process.env.DATABASE_URL!, 'outbox_relay');
    await migrate(databaseUrl, logger);
    pool = new Pool({ connectionString: databaseUrl });
    transport = createPostgresTransport({ databaseUrl, logger, pollIntervalMs: 200 });
  });

  afterAll(async () => {
    await transport?.close();
    await pool?.end();
  });

  it('publishes in outbox order keyed by repository, marks rows published, and wakes on commit rather than the poll', async () => {
    const relay = new OutboxRelay({ pool, publisher: transport.publisher('test'), logger, pollMs: 60_000, databaseUrl });
    const received: IncomingMessage[] = [];
    const consumer = transport.consumer('relay-test');
    await consumer.connect();
    await consumer.run(REGISTRY_EVENTS_TOPIC, { fromBeginning: true }, async (message) => {
      received.push(message);
    });
    relay.start();
    try {
      // The first pass runs at start; later events must arrive through NOTIFY, as the poll is a minute away.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const origin = { ...systemOrigin('test'), userId: 'u1', requestId: 'r1' };
      const written = await inTransaction(pool, async (client) => [
        await recordEvent(client, 'tag.updated', { workspace: 'acme', repository: 'acme/a', digest: 'sha256:1', tag: 'v1' }, origin),
        await recordEvent(client, 'tag.updated', { workspace: 'acme', repository: 'acme/b', digest: 'sha256:2', tag: 'v1' }, origin),
        await recordEvent(client, 'tag.deleted', { workspace: 'acme', repository: 'acme/a', tag: 'v1' }, origin),
      ]);
      const deadline = Date.now() + 10_000;
      while (received.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(received.map((m) => [m.key, (JSON.parse(m.value.toString('utf8')) as { id: string }).id])).toEqual(written.map((e) => [e.target.repository, e.id]));
      const { rows } = await pool.query<{ unpublished: string }>('SELECT count(*) FILTER (WHERE published_at IS NULL) AS unpublished FROM outbox');
      expect(Number(rows[0]!.unpublished)).toBe(0);
      expect(await relay.backlog()).toEqual({ events: 0, oldestAgeSeconds: 0 });
    } finally {
      await relay.stop();
      await consumer.disconnect();
    }
  });

  it('deletes rows published over a day ago, and keeps newer and unpublished ones', async () => {
    const relay = new OutboxRelay({ pool, publisher: transport.publisher('test'), logger, pollMs: 60_000 });
    await pool.query('DELETE FROM outbox');
    const origin = systemOrigin('test');
    await inTransaction(pool, async (client) => {
      for (const tag of ['old', 'recent', 'waiting']) await recordEvent(client, 'tag.deleted', { workspace: 'acme', repository: 'acme/a', tag }, origin);
    });
    await pool.query(`UPDATE outbox SET published_at = CASE envelope->'target'->>'tag' WHEN 'old' THEN now() - interval '25 hours' WHEN 'recent' THEN now() - interval '1 hour' END`);
    expect(await relay.prunePublished()).toBe(1);
    const { rows } = await pool.query<{ tag: string }>("SELECT envelope->'target'->>'tag' AS tag FROM outbox ORDER BY id");
    expect(rows.map((row) => row.tag)).toEqual(['recent', 'waiting']);
  });
});
