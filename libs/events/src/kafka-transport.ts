import { Kafka, logLevel, type Admin, type Consumer, type IHeaders, type KafkaMessage, type Producer } from 'kafkajs';
import type { Logger } from '@ocireg/logger';
import { handleUntilDone, retryUntilStopped } from './retry';
import type { BatchHandler, EventConsumer, EventPublisher, EventTransport, IncomingMessage, MessageHandler, OutgoingMessage } from './types';

export interface KafkaTransportOptions {
  brokers: string[];
  logger: Logger;
  /** Partitions of the topics ensureTopics creates; the broker's default when unset. */
  partitions?: number;
  /** Consumer group timings; kafkajs defaults when unset (tests shorten them). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** First wait before retrying a failing handler. */
  handlerRetryInitialMs?: number;
}

/** Events over Kafka: keyed messages (default partitioner), consumer groups, committed offsets. */
export function createKafkaTransport(options: KafkaTransportOptions): EventTransport {
  const open = new Set<{ disconnect(): Promise<void> }>();
  const kafka = (clientId: string) => new Kafka({ clientId, brokers: options.brokers, logLevel: logLevel.NOTHING });
  const track = <T extends { disconnect(): Promise<void> }>(endpoint: T): T => {
    open.add(endpoint);
    return endpoint;
  };
  return {
    publisher: (clientId) => track(new KafkaPublisher(kafka(clientId), options)),
    consumer: (groupId) => track(new KafkaConsumer(kafka(groupId), groupId, options)),
    async close() {
      await Promise.allSettled([...open].map((endpoint) => endpoint.disconnect()));
      open.clear();
    },
  };
}

/** Creates missing topics and waits for their leaders, so the first send does not race auto-creation. */
async function createTopics(kafka: Kafka, topics: string[], partitions: number | undefined): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Resolves false, not an error, when a topic already exists (also when another process created it meanwhile).
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, ...(partitions ? { numPartitions: partitions } : {}) })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

class KafkaPublisher implements EventPublisher {
  private readonly producer: Producer;
  private readonly ensured = new Set<string>();
  private readonly stopping = new AbortController();
  private connected = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaTransportOptions,
  ) {
    // Idempotent with one request in flight: retries neither duplicate nor reorder a key's messages.
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.producer.on(this.producer.events.CONNECT, () => (this.connected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.connected = false));
  }

  async connect(): Promise<void> {
    await retryUntilStopped(() => this.producer.connect(), {
      signal: this.stopping.signal,
      onFailure: (err, attempt, retryInMs) => this.options.logger.warn({ err, attempt, retryInMs }, 'Kafka not reachable yet; retrying'),
    });
  }

  async ensureTopics(topics: string[]): Promise<void> {
    await createTopics(this.kafka, topics, this.options.partitions);
    for (const topic of topics) this.ensured.add(topic);
  }

  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (this.stopping.signal.aborted) throw new Error('the publisher is disconnected');
    if (!this.ensured.has(topic)) await this.ensureTopics([topic]);
    // Like the PostgreSQL log, a send works without an explicit connect (the relay's first attempt may precede it).
    if (!this.connected) await this.producer.connect();
    try {
      await this.producer.send({ topic, acks: -1, messages: messages.map(({ key, value, headers }) => ({ key, value, headers })) });
    } catch (err) {
      // The next attempt starts from a fresh connection (connect is a no-op when connected).
      await this.producer.connect().catch(() => undefined);
      throw err;
    }
  }

  async disconnect(): Promise<void> {
    this.stopping.abort();
    await this.producer.disconnect();
  }
}

class KafkaConsumer implements EventConsumer {
  private readonly consumer: Consumer;
  private admin: Promise<Admin> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly options: KafkaTransportOptions,
  ) {
    this.consumer = kafka.consumer({
      groupId,
      ...(options.sessionTimeoutMs ? { sessionTimeout: options.sessionTimeoutMs } : {}),
      ...(options.heartbeatIntervalMs ? { heartbeatInterval: options.heartbeatIntervalMs } : {}),
    });
    // kafkajs restarts a crashed consumer itself; a crash is still worth a line in the log.
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => options.logger.error({ err: payload.error, groupId, restart: payload.restart }, 'Kafka consumer crashed'));
  }

  async connect(): Promise<void> {
    await retryUntilStopped(() => this.consumer.connect(), {
      signal: this.stopping.signal,
      onFailure: (err, attempt, retryInMs) => this.options.logger.warn({ err, attempt, retryInMs, groupId: this.groupId }, 'Kafka not reachable yet; retrying'),
    });
  }

  async run(topic: string, options: { fromBeginning: boolean }, handle: MessageHandler): Promise<void> {
    const { logger } = this.options;
    await this.consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
    await this.consumer.run({
      // kafkajs commits an offset only after eachMessage resolved for it.
      eachMessage: async ({ topic, partition, message, heartbeat }) => {
        const incoming = toIncomingMessage(topic, partition, message);
        await handleUntilDone(() => handle(incoming), {
          signal: this.stopping.signal,
          initialMs: this.options.handlerRetryInitialMs,
          onFailure: (err, failures, retryInMs) => logger.error({ err, topic, partition, offset: message.offset, failures, retryInMs }, 'event handler failed; retrying the message'),
          // Throws when the group rebalances: the partition's next owner gets the message instead.
          betweenAttempts: heartbeat,
        });
      },
    });
  }

  async runBatches(topic: string, options: { fromBeginning: boolean }, handle: BatchHandler): Promise<void> {
    const { logger } = this.options;
    await this.consumer.subscribe({ topic, fromBeginning: options.fromBeginning });
    await this.consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.messages.length === 0) return;
        const messages = batch.messages.map((message) => toIncomingMessage(batch.topic, batch.partition, message));
        await handleUntilDone(() => handle(messages), {
          signal: this.stopping.signal,
          initialMs: this.options.handlerRetryInitialMs,
          onFailure: (err, failures, retryInMs) => logger.error({ err, topic, partition: batch.partition, firstOffset: batch.firstOffset(), failures, retryInMs }, 'event batch handler failed; retrying the batch'),
          betweenAttempts: heartbeat,
        });
        resolveOffset(batch.lastOffset());
        await commitOffsetsIfNecessary();
      },
    });
  }

  async lag(topic: string): Promise<number> {
    const admin = await this.connectedAdmin();
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: this.groupId, topics: [topic] })]);
    const committedByPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let lag = 0n;
    for (const end of ends) {
      const committedOffset = committedByPartition.get(end.partition) ?? -1n;
      // -1: nothing committed yet, so every retained message is still to be consumed.
      const start = committedOffset >= 0n ? committedOffset : BigInt(end.low);
      const behind = BigInt(end.high) - start;
      if (behind > 0n) lag += behind;
    }
    return Number(lag);
  }

  async disconnect(): Promise<void> {
    this.stopping.abort();
    await this.consumer.disconnect();
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((connected) => connected.disconnect()).catch(() => undefined);
  }

  private connectedAdmin(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.admin = admin.connect().then(() => admin);
      this.admin.catch(() => (this.admin = undefined));
    }
    return this.admin;
  }
}

function toIncomingMessage(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString('utf8') ?? '',
    value: message.value ?? Buffer.alloc(0),
    headers: headersToStrings(message.headers),
    timestamp: new Date(Number(message.timestamp)),
  };
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) result[name] = value.toString();
  }
  return result;
}
