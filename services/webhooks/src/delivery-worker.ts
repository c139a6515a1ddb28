import type { Logger } from '@ocireg/logger';
import type { ClaimedDelivery, DeliveryStore } from './delivery-store';
import type { HookStore } from './hook-store';
import type { HttpSender, SendResult } from './http-sender';
import { SIGNATURE_HEADER, signatureHeader } from './signature';

/** How often settled deliveries past the log period are deleted. */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface RetryPolicy {
  baseMs: number;
  /** Given up this long after the delivery was made. */
  retryForMs: number;
  /** No single wait is longer. */
  maxDelayMs: number;
}

/**
 * When to try again after `attempts` failed attempts: exponential (base,
 * twice as long each time, at most maxDelayMs) with jitter (between half and
 * all of it); undefined once that would pass the delivery's 24 hours.
 */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, createdAt: Date, now = Date.now(), random = Math.random): Date | undefined {
  const delay = Math.min(policy.baseMs * 2 ** Math.min(attempts - 1, 30), policy.maxDelayMs) * (0.5 + random() / 2);
  const at = now + delay;
  return at > createdAt.getTime() + policy.retryForMs ? undefined : new Date(at);
}

/**
 * Sends due deliveries: claims them (at most `perHook` in flight per hook,
 * `concurrency` in all), signs each with the hook's secrets, POSTs it through
 * the SSRF-guarded sender and records the attempt. It runs apart from the
 * event consumer, so a slow or hanging target only holds its own hook's
 * slots, never the stream (nor a push: metadata publishes without waiting).
 */
export class DeliveryWorker {
  private active = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling = false;
  private readonly inFlight = new Set<Promise<void>>();
  private lastPrune = 0;

  constructor(
    private readonly deps: {
      hooks: HookStore;
      deliveries: DeliveryStore;
      sender: HttpSender;
      policy: RetryPolicy;
      concurrency: number;
      perHook: number;
      disableAfter: number;
      pollMs: number;
      /** Settled deliveries are kept this many days (the delivery log). */
      logDays: number;
      metrics?: { attempted(ok: boolean, latencyMs: number): void };
      logger: Logger;
    },
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** Looks for due deliveries now (after an enqueue, a ping, a redelivery). */
  kick(): void {
    if (!this.stopped) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        const pruned = await this.deps.deliveries.prune(this.deps.logDays);
        if (pruned > 0) this.deps.logger.info({ pruned, days: this.deps.logDays }, 'settled webhook deliveries past the log period deleted');
      }
      const room = this.deps.concurrency - this.active;
      if (room > 0) {
        const claimed = await this.deps.deliveries.claim(room, this.deps.perHook);
        if (claimed.length > 0) {
          const hooks = await this.deps.hooks.signing([...new Set(claimed.map((d) => d.hookId))]);
          for (const delivery of claimed) this.track(this.deliver(delivery, hooks.get(delivery.hookId)?.url, hooks.get(delivery.hookId)?.secrets ?? []));
        }
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'webhook deliveries could not be claimed; trying again');
    } finally {
      this.polling = false;
      this.schedule(this.deps.pollMs);
    }
  }

  private track(work: Promise<void>): void {
    this.active += 1;
    const done = work.finally(() => {
      this.active -= 1;
      this.inFlight.delete(done);
      // A slot is free: more may be due.
      this.kick();
    });
    this.inFlight.add(done);
  }

  private async deliver(delivery: ClaimedDelivery, url: string | undefined, secrets: string[]): Promise<void> {
    try {
      const result: SendResult = url
        ? await this.deps.sender.send(
            url,
            {
              'content-type': 'application/cloudevents+json; charset=utf-8',
              [SIGNATURE_HEADER]: signatureHeader(secrets, Math.floor(Date.now() / 1000), delivery.body),
              'x-ocireg-delivery': delivery.id,
            },
            delivery.body,
          )
        : { statusCode: 0, latencyMs: 0, error: 'the webhook is gone', responseHead: '' };
      const retryAt = result.error === '' ? undefined : nextAttemptAt(this.deps.policy, delivery.attempts + 1, delivery.createdAt);
      this.deps.metrics?.attempted(result.error === '', result.latencyMs);
      await this.deps.deliveries.settle(delivery, result, retryAt, this.deps.disableAfter);
      if (result.error) this.deps.logger.info({ delivery: delivery.id, hook: delivery.hookId, event: delivery.eventId, status: result.statusCode, error: result.error, retryAt }, 'webhook delivery failed');
    } catch (err) {
      // The lease runs out and another poll takes it again.
      this.deps.logger.warn({ err, delivery: delivery.id }, 'a webhook delivery could not be recorded');
    }
  }
}
