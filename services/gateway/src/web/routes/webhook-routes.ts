import { Router } from 'express';
import { unaryCall } from '@ocireg/grpc';
import type { Logger } from '@ocireg/logger';
import type { webhooks } from '@ocireg/proto';
import { webApi, type Webhook, type WebhookDelivery } from '@ocireg/web-api';
import { jsonRoutes } from '../api-context';
import type { WebCallers } from '../web-callers';

/**
 * A workspace's webhooks through the JSON API: WebhookService calls
 * forwarded to the webhooks service with the caller's assertion; it decides
 * who manages which hooks (operators, the workspace's admins).
 */
export function webhookRoutes(deps: { webhooks: webhooks.WebhookServiceClient; web: WebCallers; logger: Logger }): Router {
  const { webhooks: client, web, logger } = deps;
  const router = Router();
  const route = jsonRoutes(web, logger);
  const id = (value: unknown) => String(value);

  router.get(
    '/workspaces/:workspace/webhooks',
    route(webApi.listWebhooks, async ({ req, actor, as }) => {
      const listed = await unaryCall(client.listWebhooks.bind(client), { workspaceSlug: id(req.params.workspace) }, as(await actor()));
      return { webhooks: listed.webhooks.map(hookOf) };
    }),
  );
  router.post(
    '/workspaces/:workspace/webhooks',
    route(
      webApi.createWebhook,
      async ({ req, body, actor, as }) => {
        const created = await unaryCall(client.createWebhook.bind(client), { workspaceSlug: id(req.params.workspace), url: body.url, eventTypes: body.eventTypes, packagePatterns: body.packagePatterns }, as(await actor()));
        return { webhook: hookOf(created.webhook), secret: created.secret };
      },
      201,
    ),
  );
  router.patch(
    '/webhooks/:webhookId',
    route(webApi.updateWebhook, async ({ req, body, actor, as }) => {
      const caller = as(await actor());
      const replaceFilters = body.eventTypes !== undefined || body.packagePatterns !== undefined;
      const current = replaceFilters ? (await unaryCall(client.getWebhook.bind(client), { webhookId: id(req.params.webhookId) }, caller)).webhook : undefined;
      const updated = await unaryCall(
        client.updateWebhook.bind(client),
        {
          webhookId: id(req.params.webhookId),
          url: body.url,
          replaceFilters,
          eventTypes: body.eventTypes ?? current?.eventTypes ?? [],
          packagePatterns: body.packagePatterns ?? current?.packagePatterns ?? [],
          state: body.enabled === undefined ? '' : body.enabled ? 'enable' : 'disable',
        },
        caller,
      );
      return { webhook: hookOf(updated.webhook) };
    }),
  );
  router.delete(
    '/webhooks/:webhookId',
    route(webApi.deleteWebhook, async ({ req, actor, as }) => {
      await unaryCall(client.deleteWebhook.bind(client), { webhookId: id(req.params.webhookId) }, as(await actor()));
      return {};
    }),
  );
  router.post(
    '/webhooks/:webhookId/rotate-secret',
    route(webApi.rotateWebhookSecret, async ({ req, body, actor, as }) => {
      const rotated = await unaryCall(client.rotateWebhookSecret.bind(client), { webhookId: id(req.params.webhookId), overlapSeconds: body.overlapSeconds }, as(await actor()));
      return { webhook: hookOf(rotated.webhook), secret: rotated.secret };
    }),
  );
  router.get(
    '/webhooks/:webhookId/deliveries',
    route(webApi.listWebhookDeliveries, async ({ req, query, actor, as }) => {
      const page = await unaryCall(client.listWebhookDeliveries.bind(client), { webhookId: id(req.params.webhookId), pageSize: query.page_size, pageToken: query.page_token }, as(await actor()));
      return { deliveries: page.deliveries.map(deliveryOf), nextPageToken: page.nextPageToken };
    }),
  );
  router.post(
    '/webhooks/:webhookId/deliveries/:deliveryId/redeliver',
    route(webApi.redeliverWebhookDelivery, async ({ req, actor, as }) => {
      const again = await unaryCall(client.redeliverWebhookDelivery.bind(client), { webhookId: id(req.params.webhookId), deliveryId: id(req.params.deliveryId) }, as(await actor()));
      return { delivery: deliveryOf(again.delivery) };
    }),
  );
  router.post(
    '/webhooks/:webhookId/ping',
    route(webApi.pingWebhook, async ({ req, actor, as }) => {
      const pinged = await unaryCall(client.pingWebhook.bind(client), { webhookId: id(req.params.webhookId) }, as(await actor()));
      return { delivery: deliveryOf(pinged.delivery) };
    }),
  );
  return router;
}

function hookOf(hook: webhooks.Webhook | undefined): Webhook {
  const h = hook!;
  return {
    id: h.id,
    workspace: h.workspaceSlug,
    url: h.url,
    eventTypes: h.eventTypes,
    packagePatterns: h.packagePatterns,
    enabled: h.enabled,
    disabledReason: h.disabledReason,
    consecutiveFailures: h.consecutiveFailures,
    createdAt: h.createdAt,
    previousSecretUntil: h.previousSecretUntil,
  };
}

function deliveryOf(delivery: webhooks.WebhookDelivery | undefined): WebhookDelivery {
  const d = delivery!;
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    state: d.state,
    attempts: d.attempts,
    createdAt: d.createdAt,
    nextAttemptAt: d.nextAttemptAt,
    attemptLog: d.attemptLog.map((a) => ({ at: a.at, statusCode: a.statusCode, latencyMs: a.latencyMs, error: a.error, responseHead: a.responseHead })),
  };
}
