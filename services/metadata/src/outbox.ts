import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { RegistryEvent, RegistryEventAction, RegistryEventTarget } from '@ocireg/events';
import type { ChangeOrigin } from './change-origin';

/** PostgreSQL channel notified when outbox rows commit. */
export const OUTBOX_CHANNEL = 'ocireg_outbox';

export type EventAction = RegistryEventAction;
export type EventTarget = RegistryEventTarget;
export type EventEnvelope = RegistryEvent;

/**
 * Appends an event to the outbox inside the caller's transaction, so it
 * exists exactly when the change does. Its time is the transaction's now(),
 * the same value the changed rows carry, so a rebuild from the tables gives
 * the indexer the same times as the events did.
 */
export async function recordEvent(client: PoolClient, action: EventAction, target: EventTarget, origin: ChangeOrigin): Promise<EventEnvelope> {
  const { rows } = await client.query<{ now: Date }>('SELECT now() AS now');
  const envelope: EventEnvelope = { schemaVersion: 1, id: randomUUID(), time: rows[0]!.now.toISOString(), action, target, actor: origin.userId, requestId: origin.requestId };
  await client.query('INSERT INTO outbox (event_id, repository, action, envelope) VALUES ($1, $2, $3, $4)', [envelope.id, target.repository, action, JSON.stringify(envelope)]);
  // Delivered at commit: the relay publishes at once instead of at its next poll.
  await client.query(`NOTIFY ${OUTBOX_CHANNEL}`);
  return envelope;
}

/** package.linked, naming the linked repository's project so listings can filter by it. */
export async function recordPackageLinked(client: PoolClient, workspace: string, name: string, sourceRepositoryId: string, origin: ChangeOrigin): Promise<void> {
  const { rows } = await client.query<{ project: string }>('SELECT p.slug AS project FROM source_repositories r JOIN projects p ON p.id = r.project_id WHERE r.id = $1', [sourceRepositoryId]);
  await recordEvent(client, 'package.linked', { workspace, repository: `${workspace}/${name}`, package: name, linkedRepositoryId: sourceRepositoryId, project: rows[0]?.project ?? '' }, origin);
}
