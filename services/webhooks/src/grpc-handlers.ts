import { randomUUID } from 'node:crypto';
import { RegistryError } from '@ocireg/errors';
import type { AsyncService } from '@ocireg/grpc';
import type { webhooks } from '@ocireg/proto';
import type { WebhookAccess } from './callers';
import type { Delivery, DeliveryStore } from './delivery-store';
import type { Hook, HookStore } from './hook-store';
import { RefusedTarget, TargetGuard } from '@ocireg/outbound';
import { pingEvent, WEBHOOK_EVENT_TYPES } from './webhook-events';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;
const PATTERN = /^[a-z0-9._\-/*]{1,200}$/;
const MAX_FILTERS = 20;
const DAY = 86_400;

const invalid = (field: string, problem: string) => new RegistryError('INVALID_ARGUMENT', `${field}: ${problem}`, { field });

function checkFilters(eventTypes: string[], packagePatterns: string[]): { eventTypes: string[]; packagePatterns: string[] } {
  if (eventTypes.length > MAX_FILTERS || packagePatterns.length > MAX_FILTERS) throw invalid('event_types', `at most ${MAX_FILTERS} event types and ${MAX_FILTERS} package patterns`);
  for (const type of eventTypes) if (!(type in WEBHOOK_EVENT_TYPES)) throw invalid('event_types', `${type.slice(0, 64)} is not an event type (${Object.keys(WEBHOOK_EVENT_TYPES).join(', ')})`);
  for (const pattern of packagePatterns) if (!PATTERN.test(pattern)) throw invalid('package_patterns', `${pattern.slice(0, 64)} is not a package name pattern (lowercase names, / and *)`);
  return { eventTypes: [...new Set(eventTypes)], packagePatterns: [...new Set(packagePatterns)] };
}

/**
 * WebhookService (the admin API's, forwarded by the gateway): a workspace's
 * hooks, their delivery log, redelivery and ping. The target is checked by
 * the SSRF guard when set (and again at every attempt).
 */
export function webhookHandlers(deps: { hooks: HookStore; deliveries: DeliveryStore; access: WebhookAccess; guard: TargetGuard; kick: () => void }): AsyncService<webhooks.WebhookServiceServer> {
  const { hooks, deliveries, access, guard, kick } = deps;
  const checkTarget = async (raw: string): Promise<string> => {
    try {
      const url = TargetGuard.checkUrl(raw);
      await guard.addressFor(url);
      return url.toString();
    } catch (err) {
      if (err instanceof RefusedTarget) throw invalid('url', err.message);
      throw err;
    }
  };
  /** The hook, when the caller manages its workspace; another workspace's hook is not found. */
  const managed = async (id: string, ctx: Parameters<WebhookAccess['manager']>[0], change: boolean) => {
    const hook = await hooks.get(id);
    const caller = await access.manager(ctx, hook.workspace, change).catch((err: unknown) => {
      if (err instanceof RegistryError && err.code === 'DENIED' && !/scope/.test(err.message)) throw new RegistryError('NOT_FOUND', `no webhook ${id.slice(0, 64)}`);
      throw err;
    });
    return { hook, caller };
  };
  return {
    async createWebhook(request, ctx) {
      if (!SLUG.test(request.workspaceSlug)) throw invalid('workspace_slug', 'not a workspace slug');
      const caller = await access.manager(ctx, request.workspaceSlug, true);
      const url = await checkTarget(request.url);
      const filters = checkFilters(request.eventTypes, request.packagePatterns);
      const created = await hooks.create({ workspace: request.workspaceSlug, url, ...filters }, caller.origin);
      return { webhook: hookMessage(created.hook), secret: created.secret };
    },
    async listWebhooks(request, ctx) {
      if (!SLUG.test(request.workspaceSlug)) throw invalid('workspace_slug', 'not a workspace slug');
      await access.manager(ctx, request.workspaceSlug, false);
      return { webhooks: (await hooks.list(request.workspaceSlug)).map(hookMessage) };
    },
    async getWebhook(request, ctx) {
      return { webhook: hookMessage((await managed(request.webhookId, ctx, false)).hook) };
    },
    async updateWebhook(request, ctx) {
      const { caller } = await managed(request.webhookId, ctx, true);
      if (!['', 'enable', 'disable'].includes(request.state)) throw invalid('state', 'enable, disable or empty');
      const change = {
        ...(request.url ? { url: await checkTarget(request.url) } : {}),
        ...(request.replaceFilters ? { filters: checkFilters(request.eventTypes, request.packagePatterns) } : {}),
        ...(request.state ? { enabled: request.state === 'enable' } : {}),
      };
      const updated = await hooks.update(request.webhookId, change, caller.origin);
      if (updated.enabled) kick();
      return { webhook: hookMessage(updated) };
    },
    async deleteWebhook(request, ctx) {
      const { caller } = await managed(request.webhookId, ctx, true);
      await hooks.delete(request.webhookId, caller.origin);
      return {};
    },
    async rotateWebhookSecret(request, ctx) {
      const { caller } = await managed(request.webhookId, ctx, true);
      const overlap = request.overlapSeconds || DAY;
      if (overlap > 7 * DAY) throw invalid('overlap_seconds', 'at most 7 days (604800)');
      const rotated = await hooks.rotate(request.webhookId, overlap, caller.origin);
      return { webhook: hookMessage(rotated.hook), secret: rotated.secret };
    },
    async listWebhookDeliveries(request, ctx) {
      const { hook } = await managed(request.webhookId, ctx, false);
      const page = await deliveries.list(hook.id, request.pageSize, request.pageToken);
      return { deliveries: page.deliveries.map(deliveryMessage), nextPageToken: page.nextPageToken };
    },
    async redeliverWebhookDelivery(request, ctx) {
      const { hook } = await managed(request.webhookId, ctx, true);
      const event = await deliveries.eventOf(hook.id, request.deliveryId);
      const id = await deliveries.add(hook.id, 'redelivery', event);
      kick();
      return { delivery: deliveryMessage(await deliveryOf(deliveries, hook.id, id)) };
    },
    async pingWebhook(request, ctx) {
      const { hook } = await managed(request.webhookId, ctx, true);
      const id = await deliveries.add(hook.id, 'ping', pingEvent(randomUUID(), hook.workspace, hook.id));
      kick();
      return { delivery: deliveryMessage(await deliveryOf(deliveries, hook.id, id)) };
    },
  };
}

async function deliveryOf(deliveries: DeliveryStore, hookId: string, id: string): Promise<Delivery> {
  const page = await deliveries.list(hookId, 5, '');
  const found = page.deliveries.find((d) => d.id === id);
  if (!found) throw new RegistryError('NOT_FOUND', `no delivery ${id}`);
  return found;
}

function hookMessage(hook: Hook): webhooks.Webhook {
  return {
    id: hook.id,
    workspaceSlug: hook.workspace,
    url: hook.url,
    eventTypes: hook.eventTypes,
    packagePatterns: hook.packagePatterns,
    enabled: hook.enabled,
    disabledReason: hook.disabledReason,
    consecutiveFailures: hook.consecutiveFailures,
    createdAt: hook.createdAt,
    previousSecretUntil: hook.previousSecretUntil,
  };
}

function deliveryMessage(d: Delivery): webhooks.WebhookDelivery {
  return { id: d.id, webhookId: d.hookId, eventId: d.eventId, eventType: d.eventType, state: d.state, attempts: d.attempts, createdAt: d.createdAt, nextAttemptAt: d.nextAttemptAt, attemptLog: d.attemptLog };
}
