/** A message to publish; the key decides the partition, so one key keeps its order. */
export interface OutgoingMessage {
  key: string;
  value: Buffer | string;
  headers?: Record<string, string>;
}

/**
 * A delivered message; offset is a decimal string (Kafka offsets exceed 2^53). Offsets grow
 * within a partition but need not be contiguous (the PostgreSQL log shares one sequence across topics).
 */
export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: Date;
}

export interface EventPublisher {
  /** Retries with backoff until connected, or until disconnect() is called. */
  connect(): Promise<void>;
  /** Creates the topics when missing; safe to call again and from several processes at once. */
  ensureTopics(topics: string[]): Promise<void>;
  /** Resolves once the messages are durably stored; rejects otherwise (the caller retries). Connects first when needed. */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export type MessageHandler = (message: IncomingMessage) => Promise<void>;
/** Messages of one partition, in order. */
export type BatchHandler = (messages: IncomingMessage[]) => Promise<void>;

export interface EventConsumer {
  /** Retries with backoff until connected, or until disconnect() is called. */
  connect(): Promise<void>;
  /**
   * Calls handle for each message in order per key; commits after handle resolves (at-least-once);
   * a throwing handler is retried with backoff, not skipped. Resolves once consumption has started.
   * fromBeginning only matters for a group without a committed offset (else it starts at the end).
   */
  run(topic: string, options: { fromBeginning: boolean }, handle: MessageHandler): Promise<void>;
  /**
   * Like run, a batch at a time: for consumers that do one transaction per
   * batch. Commits after the whole batch; a throwing handler gets the same
   * batch again (so a redelivery after a crash may repeat a whole batch).
   */
  runBatches(topic: string, options: { fromBeginning: boolean }, handle: BatchHandler): Promise<void>;
  /** Messages published but not yet committed by this group (consumer lag in messages). */
  lag(topic: string): Promise<number>;
  /** Waits for the message in hand, then leaves the group; a handler still being retried is abandoned uncommitted. */
  disconnect(): Promise<void>;
}

export interface EventTransport {
  publisher(clientId: string): EventPublisher;
  consumer(groupId: string): EventConsumer;
  /** Disconnects every publisher and consumer made by this transport and frees its connections. */
  close(): Promise<void>;
}
