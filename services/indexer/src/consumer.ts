import { REGISTRY_EVENTS_DEAD_LETTER_TOPIC, REGISTRY_EVENTS_TOPIC, type EventConsumer, type EventPublisher, type IncomingMessage } from '@ocireg/events';
import type { Logger } from '@ocireg/logger';
import { Gauge, sharedSample, type Registry } from '@ocireg/metrics';
import { rejectionOf, type ReadModel, type RegistryEvent } from './read-model';

/** How often the applied-event ids are pruned. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/**
 * Consumes registry events into the read model, a batch per transaction.
 * Poison messages (malformed, or from a newer schema) go to the dead-letter
 * topic with the reason, and consumption goes on.
 */
export class EventIndexer {
  /** Event time of the oldest event of the batch being applied. */
  private inFlightSince: number | undefined;
  /** Event time of the last applied event: the next unindexed one is younger. */
  private lastAppliedAt: number | undefined;
  private lastPrune = 0;

  constructor(private readonly deps: { consumer: EventConsumer; deadLetters: EventPublisher; model: ReadModel; logger: Logger; metrics: Registry }) {
    const lastEventAge = new Gauge({ name: 'indexer_event_lag_seconds', help: 'Age of the last applied event when it was applied', registers: [deps.metrics] });
    this.observeApplied = (time) => lastEventAge.set(Math.max((Date.now() - time) / 1000, 0));
    const lag = sharedSample(() => deps.consumer.lag(REGISTRY_EVENTS_TOPIC).catch(() => undefined));
    this.lagSample = lag;
    new Gauge({
      name: 'indexer_consumer_lag_messages',
      help: 'Registry events published but not yet applied by this consumer group',
      registers: [deps.metrics],
      async collect() {
        const messages = await lag();
        if (messages !== undefined) this.set(messages);
      },
    });
    const oldest = () => this.oldestUnindexedSince();
    new Gauge({
      name: 'indexer_oldest_unindexed_event_age_seconds',
      help: 'Age of the oldest published event not yet applied (0 when caught up; between batches an upper bound)',
      registers: [deps.metrics],
      async collect() {
        const messages = await lag();
        const since = messages ? oldest() : undefined;
        this.set(since === undefined ? 0 : Math.max((Date.now() - since) / 1000, 0));
      },
    });
  }

  private readonly observeApplied: (time: number) => void;
  private readonly lagSample: () => Promise<number | undefined>;

  /** Events published but not applied yet, and the age of the oldest (the listing API tells users it is catching up). */
  async status(): Promise<{ pendingEvents: number; oldestUnindexedAgeSeconds: number }> {
    const pending = (await this.lagSample()) ?? 0;
    const since = pending > 0 ? this.oldestUnindexedSince() : undefined;
    return { pendingEvents: pending, oldestUnindexedAgeSeconds: since === undefined ? 0 : Math.max((Date.now() - since) / 1000, 0) };
  }

  async start(): Promise<void> {
    await this.deps.consumer.runBatches(REGISTRY_EVENTS_TOPIC, { fromBeginning: true }, (messages) => this.handleBatch(messages));
  }

  private oldestUnindexedSince(): number | undefined {
    return this.inFlightSince ?? this.lastAppliedAt;
  }

  private async handleBatch(messages: IncomingMessage[]): Promise<void> {
    const events: RegistryEvent[] = [];
    const poison: Array<{ message: IncomingMessage; reason: string }> = [];
    for (const message of messages) {
      const parsed = parse(message);
      if ('reason' in parsed) poison.push({ message, reason: parsed.reason });
      else events.push(parsed.event);
    }
    const times = events.map((event) => Date.parse(event.time));
    this.inFlightSince = times.length ? Math.min(...times) : undefined;
    try {
      await this.deps.model.applyBatch(events);
      if (poison.length > 0) {
        await this.deps.deadLetters.send(
          REGISTRY_EVENTS_DEAD_LETTER_TOPIC,
          poison.map(({ message, reason }) => ({ key: message.key, value: message.value, headers: { reason, 'source-partition': String(message.partition), 'source-offset': message.offset } })),
        );
        for (const { message, reason } of poison) this.deps.logger.warn({ reason, offset: message.offset }, 'event sent to the dead-letter topic');
      }
    } finally {
      this.inFlightSince = undefined;
    }
    if (times.length > 0) {
      this.lastAppliedAt = Math.max(...times);
      this.observeApplied(this.lastAppliedAt);
    }
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      // Best effort: the dedup table only needs to outlive redeliveries.
      await this.deps.model.pruneAppliedEvents().catch((err: unknown) => this.deps.logger.warn({ err }, 'could not prune applied event ids'));
    }
  }
}

function parse(message: IncomingMessage): { event: RegistryEvent } | { reason: string } {
  let event: unknown;
  try {
    event = JSON.parse(message.value.toString('utf8'));
  } catch {
    return { reason: 'not JSON' };
  }
  const reason = rejectionOf(event);
  return reason ? { reason } : { event: event as RegistryEvent };
}
