import { Client, Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { eventTransportContract, numbered, recordingConsumer, seqOf, uniqueName, waitFor } from './contract';
import { createEventTransport, createPostgresTransport } from './index';
import { PostgresEventLog } from './postgres-event-log';

// Runs against the PostgreSQL that the integration setup starts (DATABASE_URL).
const logger = createLogger({ service: 'events-test', level: 'silent' });
const makeTransport = () => createPostgresTransport({ databaseUrl: process.env.DATABASE_URL!, logger, handlerRetryInitialMs: 20, pollIntervalMs: 500 });

eventTransportContract('PostgreSQL event log', makeTransport);

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL event log', () => {
  it('lets one consumer per group run; a waiting one takes over when it leaves', async () => {
    const events = makeTransport();
    try {
      const topic = uniqueName('takeover');
      const group = uniqueName('takeover-group');
      const publisher = events.publisher('test');
      await publisher.send(topic, [numbered('repo', 0), numbered('repo', 1), numbered('repo', 2)]);
      const active = await recordingConsumer(events, group, topic);
      await waitFor('first consumer: 3 messages', () => active.received.length >= 3);
      const waiting = await recordingConsumer(events, group, topic);
      await publisher.send(topic, [numbered('repo', 3)]);
      await waitFor('first consumer: message 3', () => active.received.length >= 4);
      await new Promise((resolve) => setTimeout(resolve, 1_200)); // more than the waiting consumer's lock poll
      expect(waiting.received).toEqual([]);

      await active.consumer.disconnect();
      await publisher.send(topic, [numbered('repo', 4), numbered('repo', 5)]);
      await waitFor('second consumer: 2 messages', () => waiting.received.length >= 2);
      expect(waiting.received.map(seqOf)).toEqual([4, 5]);
    } finally {
      await events.close();
    }
  });

  it('hands the group to the waiting consumer when the active one dies, losing nothing', async () => {
    const events = makeTransport();
    try {
      const topic = uniqueName('death');
      const group = uniqueName('death-group');
      const publisher = events.publisher('test');
      await publisher.send(topic, [numbered('repo', 0), numbered('repo', 1)]);
      const first = await recordingConsumer(events, group, topic);
      await waitFor('first consumer: 2 messages', () => first.received.length >= 2);
      const second = await recordingConsumer(events, group, topic);

      // The session holding the group lock dies (as when its process is killed).
      const killed = await withAdmin(async (admin) => {
        const { rowCount } = await admin.query(
          `SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1`,
          [`ocireg-events:${group}`.slice(0, 63)],
        );
        return rowCount;
      });
      expect(killed).toBe(1);
      await waitFor('a send after the kill', () => publisher.send(topic, [numbered('repo', 2), numbered('repo', 3), numbered('repo', 4)]).then(() => true, () => false), 10_000);
      const afterKill = () => [...first.received.slice(2), ...second.received].map(seqOf).sort((a, b) => a - b);
      await waitFor('messages 2-4', () => afterKill().length >= 3, 30_000);
      expect(afterKill()).toEqual([2, 3, 4]);
    } finally {
      await events.close();
    }
  });

  it('starts a new group at the end of the log without fromBeginning, and keeps that position across restarts', async () => {
    const events = makeTransport();
    try {
      const topic = uniqueName('latest');
      const group = uniqueName('latest-group');
      const publisher = events.publisher('test');
      await publisher.send(topic, [numbered('repo', 0), numbered('repo', 1), numbered('repo', 2)]);
      const first = await recordingConsumer(events, group, topic, { fromBeginning: false });
      await waitFor('start position recorded', async () => (await first.consumer.lag(topic)) === 0, 10_000);
      await first.consumer.disconnect();
      await publisher.send(topic, [numbered('repo', 3)]);
      const second = await recordingConsumer(events, group, topic, { fromBeginning: false });
      await waitFor('message 3', () => second.received.length >= 1);
      await publisher.send(topic, [numbered('repo', 4)]);
      await waitFor('message 4', () => second.received.length >= 2);
      expect(first.received).toEqual([]);
      expect(second.received.map(seqOf)).toEqual([3, 4]);
    } finally {
      await events.close();
    }
  });

  it('survives its connections being killed: reconnects and loses nothing', async () => {
    const events = makeTransport();
    try {
      const topic = uniqueName('killed');
      const group = uniqueName('killed-group');
      const publisher = events.publisher('test');
      await publisher.send(topic, [numbered('repo', 0), numbered('repo', 1)]);
      const { received } = await recordingConsumer(events, group, topic);
      await waitFor('2 messages', () => received.length >= 2);

      const killed = await withAdmin(async (admin) => {
        const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`ocireg-events:${group}`.slice(0, 63)]);
        return rowCount;
      });
      expect(killed).toBe(1);
      // The publisher's pooled connections may have gone too; the caller retries a failed send (the relay does).
      await waitFor('a send after the kill', () => publisher.send(topic, [numbered('repo', 2), numbered('repo', 3)]).then(() => true, () => false), 10_000);
      await waitFor('4 messages', () => received.length >= 4, 30_000);
      expect(received.map(seqOf)).toEqual([0, 1, 2, 3]);
    } finally {
      await events.close();
    }
  });

  it('loses nothing when publishers append concurrently while a consumer reads', async () => {
    const events = makeTransport();
    try {
      const topic = uniqueName('concurrent');
      const { received } = await recordingConsumer(events, uniqueName('concurrent-group'), topic);
      const publishers = Array.from({ length: 4 }, (_, p) => ({ key: `publisher-${p}`, publisher: events.publisher(`publisher-${p}`) }));
      await Promise.all(
        publishers.map(async ({ key, publisher }) => {
          for (let batch = 0; batch < 20; batch++) await publisher.send(topic, Array.from({ length: 3 }, (_, i) => numbered(key, batch * 3 + i)));
        }),
      );
      await waitFor('240 messages', () => received.length >= 240);
      for (const { key } of publishers) expect(received.filter((m) => m.key === key).map(seqOf)).toEqual(Array.from({ length: 60 }, (_, seq) => seq));
      expect(received).toHaveLength(240);
    } finally {
      await events.close();
    }
  });

  it('is the backend createEventTransport picks without KAFKA_BROKERS, and a config error without either variable', async () => {
    const events = createEventTransport({ DATABASE_URL: process.env.DATABASE_URL }, logger);
    try {
      const topic = uniqueName('picked');
      await events.publisher('test').send(topic, [numbered('repo', 0)]);
      const { received } = await recordingConsumer(events, uniqueName('picked-group'), topic);
      await waitFor('1 message', () => received.length >= 1);
      expect(received[0]!.partition).toBe(0);
    } finally {
      await events.close();
    }
    expect(() => createEventTransport({ KAFKA_BROKERS: ' ', DATABASE_URL: '' }, logger)).toThrow(/KAFKA_BROKERS.*DATABASE_URL/);
  });

  it('prunes messages older than the retention, and only those', async () => {
    const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
    try {
      const log = new PostgresEventLog(pool, 3_600_000);
      const topic = uniqueName('retention');
      await log.append(topic, [numbered('repo', 0), numbered('repo', 1)]);
      await pool.query("UPDATE event_log SET created_at = now() - interval '2 hours' WHERE topic = $1 AND key = 'repo' AND convert_from(value, 'UTF8') LIKE '%\"seq\":0%'", [topic]);
      expect(await log.prune()).toBe(1);
      const { rows } = await pool.query<{ value: Buffer }>('SELECT value FROM event_log WHERE topic = $1', [topic]);
      expect(rows.map((row) => (JSON.parse(row.value.toString('utf8')) as { seq: number }).seq)).toEqual([1]);
    } finally {
      await pool.end();
    }
  });
});
