import { REGISTRY_EVENTS_TOPIC, type EventConsumer, type IncomingMessage, type RegistryEvent } from '@ocireg/events';
import type { Logger } from '@ocireg/logger';
import type { DeliveryStore } from './delivery-store';
import type { Hook, HookStore } from './hook-store';
import { hookWants, webhookEventOf } from './webhook-events';

/**
 * The webhooks' consumer group on the registry's event stream: each event a
 * hook wants becomes one delivery per hook (a second sight of the same event
 * id adds none), then the worker sends them. Enqueuing is all it does, so a
 * slow target never holds the stream back. A new group starts at the
 * stream's beginning (as the indexer's): only hooks that exist get
 * deliveries, and none exist before the service first runs.
 */
export class WebhookEventConsumer {
  constructor(private readonly deps: { consumer: EventConsumer; hooks: HookStore; deliveries: DeliveryStore; onEnqueued: () => void; logger: Logger }) {}

  async start(): Promise<void> {
    await this.deps.consumer.runBatches(REGISTRY_EVENTS_TOPIC, { fromBeginning: true }, (messages) => this.handle(messages));
  }

  private async handle(messages: IncomingMessage[]): Promise<void> {
    const hooksOf = new Map<string, Promise<Hook[]>>();
    let enqueued = 0;
    for (const message of messages) {
      const event = parse(message);
      if (!event) continue;
      const outgoing = webhookEventOf(event);
      if (!outgoing) continue;
      if (!hooksOf.has(outgoing.workspace)) hooksOf.set(outgoing.workspace, this.deps.hooks.enabledIn(outgoing.workspace));
      const wanting = (await hooksOf.get(outgoing.workspace)!).filter((hook) => hookWants(hook, outgoing));
      enqueued += await this.deps.deliveries.enqueue(wanting.map((hook) => hook.id), outgoing);
    }
    if (enqueued > 0) this.deps.onEnqueued();
  }
}

/** A version-1 envelope, or undefined (the indexer dead-letters what nobody can read; webhooks skip it). */
function parse(message: IncomingMessage): RegistryEvent | undefined {
  try {
    const event = JSON.parse(message.value.toString('utf8')) as RegistryEvent;
    if (event.schemaVersion !== 1 || typeof event.id !== 'string' || typeof event.action !== 'string' || typeof event.target?.workspace !== 'string' || typeof event.target.repository !== 'string') return undefined;
    return event;
  } catch {
    return undefined;
  }
}
