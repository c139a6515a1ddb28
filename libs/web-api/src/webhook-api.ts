import { z } from 'zod';
import { pageSize, requiredText, text } from './request-fields';
import type { RouteSchema } from './route-schema';
import { exact, nothing } from './shapes';

/** A workspace's webhook (docs/webhooks.md); its secret is never part of it. */
export const webhook = exact({
  id: z.string(),
  workspace: z.string(),
  url: z.string(),
  /** Empty: every event type. */
  eventTypes: z.array(z.string()),
  /** Empty: every package. */
  packagePatterns: z.array(z.string()),
  enabled: z.boolean(),
  /** Why it was disabled (a run of failures), or "". */
  disabledReason: z.string(),
  consecutiveFailures: z.number(),
  createdAt: z.string(),
  /** Until when the previous secret also signs, or "". */
  previousSecretUntil: z.string(),
});

export const webhookAttempt = exact({ at: z.string(), statusCode: z.number(), latencyMs: z.number(), error: z.string(), responseHead: z.string() });

/** One delivery of an event to a hook, with its attempts. */
export const webhookDelivery = exact({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  /** pending, delivering, succeeded, failed (given up). */
  state: z.string(),
  attempts: z.number(),
  createdAt: z.string(),
  nextAttemptAt: z.string(),
  attemptLog: z.array(webhookAttempt),
});

const LIST_MESSAGE = 'a list of strings';
const list = () => z.array(z.string({ message: LIST_MESSAGE }), { message: LIST_MESSAGE }).max(20, 'at most 20 entries');

/** Webhooks of a workspace (its admins and operators manage them). */
export const webhookApi = {
  /** GET /workspaces/{ws}/webhooks */
  listWebhooks: { response: exact({ webhooks: z.array(webhook) }) },
  /** POST /workspaces/{ws}/webhooks (201): the signing secret is in the answer once */
  createWebhook: {
    body: z.object({ url: requiredText('url is required'), eventTypes: list().default([]), packagePatterns: list().default([]) }),
    response: exact({ webhook, secret: z.string() }),
  },
  /** PATCH /webhooks/{id}: a new url, new filters (both lists given), enabled again or disabled */
  updateWebhook: {
    body: z.object({ url: text(), eventTypes: list().optional(), packagePatterns: list().optional(), enabled: z.boolean({ message: 'enabled must be true or false' }).optional() }),
    response: exact({ webhook }),
  },
  /** DELETE /webhooks/{id} */
  deleteWebhook: { response: nothing },
  /** POST /webhooks/{id}/rotate-secret: a new secret (once); the old one signs beside it for overlapSeconds (default a day) */
  rotateWebhookSecret: {
    body: z.object({ overlapSeconds: z.coerce.number({ message: 'overlapSeconds: a whole number of seconds' }).int().min(0).max(604_800, 'overlapSeconds: at most 604800 (7 days)').default(0) }),
    response: exact({ webhook, secret: z.string() }),
  },
  /** GET /webhooks/{id}/deliveries?page_size=&page_token= */
  listWebhookDeliveries: {
    query: z.object({ page_size: pageSize(100), page_token: text() }),
    response: exact({ deliveries: z.array(webhookDelivery), nextPageToken: z.string() }),
  },
  /** POST /webhooks/{id}/deliveries/{deliveryId}/redeliver: the same event (same id) as a new delivery */
  redeliverWebhookDelivery: { response: exact({ delivery: webhookDelivery }) },
  /** POST /webhooks/{id}/ping: a test event */
  pingWebhook: { response: exact({ delivery: webhookDelivery }) },
} satisfies Record<string, RouteSchema>;
