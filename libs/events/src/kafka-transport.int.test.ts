import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { eventTransportContract, numbered, recordingConsumer, uniqueName, waitFor } from './contract';
import { createEventTransport, createKafkaTransport } from './index';

// Runs against the Kafka that the integration setup starts (KAFKA_BROKERS).
const logger = createLogger({ service: 'events-test', level: 'silent' });
const brokers = () => process.env.KAFKA_BROKERS!.split(',');
// Three partitions so per-key order is not a one-partition accident; short sessions keep rebalances quick.
const makeTransport = () => createKafkaTransport({ brokers: brokers(), logger, partitions: 3, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, handlerRetryInitialMs: 20 });

eventTransportContract('Kafka', makeTransport);

describe('Kafka event transport', () => {
  it('creates topics with the configured partitions, and is what createEventTransport picks when KAFKA_BROKERS is set', async () => {
    const events = createEventTransport({ KAFKA_BROKERS: process.env.KAFKA_BROKERS, DATABASE_URL: 'postgres://unused.invalid/db' }, logger);
    const partitioned = makeTransport();
    const admin = new Kafka({ brokers: brokers(), logLevel: logLevel.NOTHING }).admin();
    try {
      const topic = uniqueName('picked');
      await events.publisher('test').send(topic, [numbered('repo', 0)]);
      const { received } = await recordingConsumer(events, uniqueName('picked-group'), topic);
      await waitFor('1 message', () => received.length >= 1);
      expect(received[0]!.topic).toBe(topic);

      const threePartitions = uniqueName('partitions');
      await partitioned.publisher('test').ensureTopics([threePartitions]);
      await admin.connect();
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [threePartitions] })).topics;
      expect(metadata!.partitions).toHaveLength(3);
    } finally {
      await admin.disconnect();
      await Promise.all([events.close(), partitioned.close()]);
    }
  });
});
