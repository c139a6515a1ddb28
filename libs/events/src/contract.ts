import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventConsumer, EventTransport, IncomingMessage } from './types';

const DELIVERY_TIMEOUT_MS = 60_000;

/** Polls until check() is true; fails with what it waited for. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = DELIVERY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const uniqueName = (label: string) => `events-contract.${label}.${randomBytes(5).toString('hex')}`;

/** Messages carry {key, seq} as JSON so a test can check order and completeness. */
export const numbered = (key: string, seq: number) => ({ key, value: JSON.stringify({ key, seq }) });
export const seqOf = (message: IncomingMessage): number => (JSON.parse(message.value.toString('utf8')) as { seq: number }).seq;

/** Starts a consumer that records what it handled. */
export async function recordingConsumer(transport: EventTransport, groupId: string, topic: string, options: { fromBeginning: boolean } = { fromBeginning: true }, onMessage?: (message: IncomingMessage) => Promise<void>): Promise<{ consumer: EventConsumer; received: IncomingMessage[] }> {
  const consumer = transport.consumer(groupId);
  const received: IncomingMessage[] = [];
  await consumer.connect();
  await consumer.run(topic, options, async (message) => {
    await onMessage?.(message);
    received.push(message);
  });
  return { consumer, received };
}

/**
 * The contract every EventTransport backend passes; each backend's test calls this.
 * makeTransport's backend retries failing handlers quickly (tens of ms).
 */
export function eventTransportContract(name: string, makeTransport: () => EventTransport): void {
  describe(`EventTransport contract: ${name}`, () => {
    const transports: EventTransport[] = [];
    const transport = () => {
      const made = makeTransport();
      transports.push(made);
      return made;
    };
    afterEach(async () => {
      await Promise.all(transports.splice(0).map((made) => made.close()));
    });

    it('keeps the order of each key over many messages and batches', async () => {
      const events = transport();
      const topic = uniqueName('order');
      const publisher = events.publisher('contract');
      await publisher.connect();
      await publisher.ensureTopics([topic]);
      const keys = ['repo/a', 'repo/b', 'repo/c', 'repo/d', 'repo/e', 'repo/f'];
      const perKey = 40;
      const all = keys.flatMap((_, i) => Array.from({ length: perKey }, (__, seq) => ({ i, seq }))).sort((x, y) => x.seq - y.seq || x.i - y.i);
      const messages = all.map(({ i, seq }) => numbered(keys[i]!, seq));
      for (let start = 0; start < messages.length; start += 60) await publisher.send(topic, messages.slice(start, start + 60));

      const { received } = await recordingConsumer(events, uniqueName('order-group'), topic);
      await waitFor(`${messages.length} messages`, () => received.length >= messages.length);
      for (const key of keys) {
        expect(received.filter((m) => m.key === key).map(seqOf), key).toEqual(Array.from({ length: perKey }, (_, seq) => seq));
      }
      expect(received).toHaveLength(messages.length);
    });

    it('round-trips keys, byte values and headers', async () => {
      const events = transport();
      const topic = uniqueName('roundtrip');
      const publisher = events.publisher('contract');
      await publisher.connect();
      const bytes = Buffer.from([0, 255, 1, 128, 10, 0]);
      const before = Date.now();
      await publisher.send(topic, [
        { key: 'workspace/repo-a', value: bytes, headers: { reason: 'not JSON', 'source-offset': '42' } },
        { key: 'workspace/repo-a', value: 'text ✓' },
      ]);
      const { received } = await recordingConsumer(events, uniqueName('roundtrip-group'), topic);
      await waitFor('2 messages', () => received.length >= 2);
      const [first, second] = received;
      expect(first).toMatchObject({ topic, key: 'workspace/repo-a', headers: { reason: 'not JSON', 'source-offset': '42' } });
      expect(Buffer.isBuffer(first!.value)).toBe(true);
      expect(first!.value.equals(bytes)).toBe(true);
      expect(second).toMatchObject({ topic, key: 'workspace/repo-a', headers: {}, partition: first!.partition });
      expect(second!.value.toString('utf8')).toBe('text ✓');
      expect(first!.offset).toMatch(/^\d+$/);
      expect(BigInt(second!.offset)).toBeGreaterThan(BigInt(first!.offset));
      expect(Number.isInteger(first!.partition)).toBe(true);
      expect(first!.timestamp.getTime()).toBeGreaterThanOrEqual(before - 5_000);
      expect(first!.timestamp.getTime()).toBeLessThanOrEqual(Date.now() + 5_000);
    });

    it('resumes a group from its committed offset after a disconnect, redelivering at most the message in flight', async () => {
      const events = transport();
      const topic = uniqueName('resume');
      const group = uniqueName('resume-group');
      const publisher = events.publisher('contract');
      await publisher.connect();
      await publisher.send(topic, Array.from({ length: 10 }, (_, seq) => numbered('repo', seq)));

      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let inFlight = false;
      const first = await recordingConsumer(events, group, topic, { fromBeginning: true }, async (message) => {
        if (seqOf(message) === 5) {
          inFlight = true;
          await gate; // message 5 is being handled when the consumer disconnects
        }
      });
      await waitFor('message 5 in flight', () => inFlight);
      expect(first.received.map(seqOf)).toEqual([0, 1, 2, 3, 4]);
      const disconnected = first.consumer.disconnect();
      setTimeout(release, 200);
      await disconnected;

      await publisher.send(topic, Array.from({ length: 5 }, (_, i) => numbered('repo', 10 + i)));
      const second = await recordingConsumer(events, group, topic, { fromBeginning: true });
      await waitFor('message 14', () => second.received.some((m) => seqOf(m) === 14));
      const resumedAt = seqOf(second.received[0]!);
      expect([5, 6]).toContain(resumedAt);
      expect(second.received.map(seqOf)).toEqual(Array.from({ length: 15 - resumedAt }, (_, i) => resumedAt + i));
    });

    it('replays everything to a new group that starts from the beginning', async () => {
      const events = transport();
      const topic = uniqueName('replay');
      const publisher = events.publisher('contract');
      await publisher.connect();
      await publisher.send(topic, Array.from({ length: 5 }, (_, seq) => numbered('repo', seq)));
      const first = await recordingConsumer(events, uniqueName('replay-first'), topic);
      await waitFor('first group: 5 messages', () => first.received.length >= 5);
      await waitFor('first group committed', async () => (await first.consumer.lag(topic)) === 0);

      const second = await recordingConsumer(events, uniqueName('replay-second'), topic);
      await waitFor('second group: 5 messages', () => second.received.length >= 5);
      expect(second.received.map(seqOf)).toEqual([0, 1, 2, 3, 4]);
      expect(second.received.map((m) => m.offset)).toEqual(first.received.map((m) => m.offset));
    });

    it('retries a throwing handler and does not skip the message', async () => {
      const events = transport();
      const topic = uniqueName('retry');
      const publisher = events.publisher('contract');
      await publisher.connect();
      await publisher.send(topic, [numbered('repo', 0), numbered('repo', 1), numbered('repo', 2)]);
      const attempts = new Map<number, number>();
      const { received } = await recordingConsumer(events, uniqueName('retry-group'), topic, { fromBeginning: true }, async (message) => {
        const seq = seqOf(message);
        const attempt = (attempts.get(seq) ?? 0) + 1;
        attempts.set(seq, attempt);
        if (seq === 1 && attempt <= 3) throw new Error(`handler failure ${attempt}`);
      });
      await waitFor('message 2', () => received.some((m) => seqOf(m) === 2));
      expect(received.map(seqOf)).toEqual([0, 1, 2]);
      expect(attempts.get(1)).toBe(4);
      expect(attempts.get(2)).toBe(1);
    });

    it('hands batches in order, retries a failing batch whole, and commits after each batch', async () => {
      const events = transport();
      const topic = uniqueName('batches');
      const group = uniqueName('batch-group');
      const publisher = events.publisher('contract');
      await publisher.connect();
      await publisher.ensureTopics([topic]);
      await publisher.send(topic, Array.from({ length: 50 }, (_, seq) => numbered('repo', seq)));
      const handled: number[] = [];
      let failuresLeft = 2;
      const consumer = events.consumer(group);
      await consumer.connect();
      await consumer.runBatches(topic, { fromBeginning: true }, async (messages) => {
        expect(messages.length).toBeGreaterThan(0);
        if (messages.some((m) => seqOf(m) === 20) && failuresLeft-- > 0) throw new Error('batch failure');
        handled.push(...messages.map(seqOf));
      });
      await waitFor('50 messages in batches', () => new Set(handled).size === 50);
      expect([...new Set(handled)]).toEqual(Array.from({ length: 50 }, (_, seq) => seq));
      expect(failuresLeft).toBeLessThan(0);
      await waitFor('lag 0 after the batches', async () => (await consumer.lag(topic)) === 0);
      await consumer.disconnect();

      // Committed: the same group starts after the last batch.
      await publisher.send(topic, [numbered('repo', 50)]);
      const { consumer: resumed, received } = await recordingConsumer(events, group, topic);
      await waitFor('message 50', () => received.length > 0);
      expect(received.map(seqOf)).toEqual([50]);
      await resumed.disconnect();
    });

    it('counts lag in uncommitted messages, down to 0 after consumption', async () => {
      const events = transport();
      const topic = uniqueName('lag');
      const group = uniqueName('lag-group');
      const publisher = events.publisher('contract');
      await publisher.connect();
      await publisher.ensureTopics([topic]);
      await publisher.send(topic, Array.from({ length: 7 }, (_, seq) => numbered(`repo-${seq % 3}`, seq)));

      const idle = events.consumer(group);
      await idle.connect();
      expect(await idle.lag(topic)).toBe(7);
      await idle.disconnect();

      const running = await recordingConsumer(events, group, topic);
      await waitFor('7 messages', () => running.received.length >= 7);
      await waitFor('lag 0', async () => (await running.consumer.lag(topic)) === 0, 30_000);
      await running.consumer.disconnect();

      await publisher.send(topic, [numbered('repo-0', 7), numbered('repo-1', 8)]);
      const later = events.consumer(group);
      await later.connect();
      expect(await later.lag(topic)).toBe(2);
    });

    it('rejects a send after disconnect instead of dropping it silently', async () => {
      const events = transport();
      const topic = uniqueName('closed');
      const publisher = events.publisher('contract');
      await publisher.send(topic, [numbered('repo', 0)]);
      await publisher.disconnect();
      await expect(publisher.send(topic, [numbered('repo', 1)])).rejects.toThrow();
      const fresh = events.consumer(uniqueName('closed-group'));
      await fresh.connect();
      expect(await fresh.lag(topic)).toBe(1);
    });

    it('ensureTopics is idempotent, also when two publishers race', async () => {
      const events = transport();
      const [topicA, topicB] = [uniqueName('ensure-a'), uniqueName('ensure-b')];
      const [one, two] = [events.publisher('contract-1'), events.publisher('contract-2')];
      await Promise.all([one.connect(), two.connect()]);
      await Promise.all([one.ensureTopics([topicA, topicB]), two.ensureTopics([topicA, topicB])]);
      await one.ensureTopics([topicA]);
      await two.send(topicB, [numbered('repo', 0)]);
      await one.send(topicA, [numbered('repo', 0), numbered('repo', 1)]);

      const { received } = await recordingConsumer(events, uniqueName('ensure-group'), topicB);
      await waitFor('1 message', () => received.length >= 1);
      expect(received.map((m) => [m.topic, seqOf(m)])).toEqual([[topicB, 0]]);
      const fresh = events.consumer(uniqueName('ensure-fresh'));
      await fresh.connect();
      expect(await fresh.lag(topicA)).toBe(2);
    });
  });
}
