import { CloudEvent, HTTP } from 'cloudevents';
import type { RegistryEvent } from '@ocireg/events';

/** The event types a hook may ask for (docs/webhooks.md), and the registry action each comes from. */
export const WEBHOOK_EVENT_TYPES = {
  'image.pushed': 'manifest.pushed',
  'tag.moved': 'tag.updated',
  'tag.deleted': 'tag.deleted',
  'manifest.deleted': 'manifest.deleted',
  'package.created': 'package.linked',
  'package.deleted': 'package.deleted',
  'retention.applied': 'retention.applied',
  'quota.nearly-full': 'quota.nearly-full',
} as const;
export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;

const BY_ACTION = new Map<string, WebhookEventType>(Object.entries(WEBHOOK_EVENT_TYPES).map(([type, action]) => [action, type as WebhookEventType]));

/** The CloudEvents `type` of a webhook event type. */
export const cloudEventType = (type: string) => `io.ocireg.${type}`;

export const PING_TYPE = 'webhook.ping';

export interface OutgoingEvent {
  id: string;
  type: string;
  /** The package name within the workspace ("" for a ping), for the hooks' patterns. */
  packageName: string;
  workspace: string;
  /** The CloudEvent, structured JSON mode, as sent. */
  body: string;
}

/**
 * A registry event as the CloudEvent hooks receive (structured JSON, via the
 * cloudevents SDK); its id is the registry event's, so a redelivery carries
 * the same id. Undefined for actions hooks are not told of.
 */
export function webhookEventOf(event: RegistryEvent): OutgoingEvent | undefined {
  const type = BY_ACTION.get(event.action);
  if (!type) return undefined;
  const { target } = event;
  const packageName = target.package ?? target.repository.slice(target.workspace.length + 1);
  const data = {
    workspace: target.workspace,
    repository: target.repository,
    package: packageName,
    ...(target.digest ? { digest: target.digest } : {}),
    ...(target.mediaType ? { mediaType: target.mediaType } : {}),
    ...(target.size !== undefined ? { size: target.size } : {}),
    ...(target.tag ? { tag: target.tag } : {}),
    ...(target.summary ?? {}),
    actor: event.actor,
    requestId: event.requestId,
  };
  const cloudEvent = new CloudEvent({
    id: event.id,
    source: `/workspaces/${target.workspace}`,
    type: cloudEventType(type),
    subject: target.tag ? `${target.repository}:${target.tag}` : target.repository,
    time: event.time,
    datacontenttype: 'application/json',
    data,
  });
  return { id: event.id, type, packageName, workspace: target.workspace, body: HTTP.structured(cloudEvent).body as string };
}

/** The test event PingWebhook sends. */
export function pingEvent(id: string, workspace: string, hookId: string): OutgoingEvent {
  const cloudEvent = new CloudEvent({ id, source: `/workspaces/${workspace}`, type: cloudEventType(PING_TYPE), subject: `webhooks/${hookId}`, time: new Date().toISOString(), datacontenttype: 'application/json', data: { workspace, webhookId: hookId } });
  return { id, type: PING_TYPE, packageName: '', workspace, body: HTTP.structured(cloudEvent).body as string };
}

/** Whether a hook with these filters wants the event (empty filters: everything). */
export function hookWants(hook: { eventTypes: readonly string[]; packagePatterns: readonly string[] }, event: Pick<OutgoingEvent, 'type' | 'packageName'>): boolean {
  if (hook.eventTypes.length > 0 && !hook.eventTypes.includes(event.type)) return false;
  return hook.packagePatterns.length === 0 || hook.packagePatterns.some((pattern) => patternMatches(pattern, event.packageName));
}

/** A package pattern: "*" any run of characters but "/", "**" any run at all; the rest literal. */
export function patternMatches(pattern: string, name: string): boolean {
  const source = pattern
    .split('**')
    .map((part) => part.split('*').map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${source}$`).test(name);
}
