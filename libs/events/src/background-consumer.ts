import type { Logger } from '@ocireg/logger';
import { REGISTRY_EVENTS_DEAD_LETTER_TOPIC, REGISTRY_EVENTS_TOPIC } from './registry-events';
import type { EventConsumer, EventPublisher } from './types';

/**
 * Joins a consumer group on the registry's event stream in the background,
 * retrying while the transport is down: the topics are made first
 * (auto-creation races with the first send), then `start` runs the
 * consumption; `readyMessage` is logged once it does (the launcher waits for it).
 */
export function consumeInBackground(options: { topics: EventPublisher; consumer: EventConsumer; start: () => Promise<void>; logger: Logger; readyMessage: string }): void {
  void (async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        await options.topics.ensureTopics([REGISTRY_EVENTS_TOPIC, REGISTRY_EVENTS_DEAD_LETTER_TOPIC]);
        await options.consumer.connect();
        await options.start();
        options.logger.info(options.readyMessage);
        return;
      } catch (err) {
        options.logger.warn({ err, attempt }, 'event transport not reachable yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5000)));
      }
    }
  })();
}
