import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';

/** What happened; consumers must ignore actions they do not know. */
export type EventAction = 'manifest.pushed' | 'manifest.deleted' | 'tag.updated' | 'tag.deleted' | 'package.linked';

/** Who and which request caused a change, carried from the gateway in gRPC metadata. */
export interface ChangeOrigin {
  actor: string;
  requestId: string;
}

export interface EventTarget {
  workspace: string;
  repository: string;
  package?: string;
  digest?: string;
  mediaType?: string;
  size?: number;
  tag?: string;
  /** For package.linked: the repository (source) id the package now inherits from. */
  linkedRepositoryId?: string;
}

/** The versioned event envelope (docs/events.md). */
export interface EventEnvelope {
  schemaVersion: 1;
  id: string;
  time: string;
  action: EventAction;
  target: EventTarget;
  actor: string;
  requestId: string;
}

/** Appends an event to the outbox inside the caller's transaction, so it exists exactly when the change does. */
export async function recordEvent(client: PoolClient, action: EventAction, target: EventTarget, origin: ChangeOrigin): Promise<EventEnvelope> {
  const envelope: EventEnvelope = { schemaVersion: 1, id: randomUUID(), time: new Date().toISOString(), action, target, actor: origin.actor, requestId: origin.requestId };
  await client.query('INSERT INTO outbox (event_id, repository, action, envelope) VALUES ($1, $2, $3, $4)', [envelope.id, target.repository, action, JSON.stringify(envelope)]);
  return envelope;
}
