import type { Consumer, Producer } from 'kafkajs';
import type { Logger } from '@ocireg/logger';
import type { Gauge } from '@ocireg/metrics';
import { rejectionOf, type ReadModel, type RegistryEvent } from './read-model';

export const EVENTS_TOPIC = 'registry.events';
export const DEAD_LETTER_TOPIC = 'registry.events.dlq';

/**
 * Consumes registry events into the read model. Poison messages go to the
 * dead-letter topic with the reason, and consumption goes on.
 */
export async function runEventConsumer(deps: { consumer: Consumer; producer: Producer; model: ReadModel; logger: Logger; lagSeconds: Gauge }): Promise<void> {
  const { consumer, producer, model, logger, lagSeconds } = deps;
  await consumer.subscribe({ topic: EVENTS_TOPIC, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const raw = message.value?.toString('utf8') ?? '';
      let event: unknown;
      try {
        event = JSON.parse(raw);
      } catch {
        event = undefined;
      }
      const reason = rejectionOf(event);
      if (reason) {
        await producer.send({ topic: DEAD_LETTER_TOPIC, messages: [{ key: message.key, value: message.value, headers: { reason, 'source-partition': String(partition), 'source-offset': message.offset } }] });
        logger.warn({ reason, offset: message.offset }, 'event sent to the dead-letter topic');
        return;
      }
      const registryEvent = event as RegistryEvent;
      await model.apply(registryEvent);
      lagSeconds.set((Date.now() - Date.parse(registryEvent.time)) / 1000);
    },
  });
}
