import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '@ocireg/postgres';
import { invalid } from './validation';

/**
 * Runs a create once per request id: a retry with the same id returns what the
 * first call created instead of ALREADY_EXISTS. Without a request id, plain create.
 * `kind` names what is created; a request id used for another kind is refused.
 */
export async function idempotentCreate<T>(
  pool: Pool,
  requestId: string,
  kind: string,
  create: (client: PoolClient) => Promise<{ id: string; value: T }>,
  load: (id: string) => Promise<T>,
): Promise<T> {
  if (requestId && requestId.length > 128) throw invalid('request_id', 'must be at most 128 characters');
  const outcome = await inTransaction(pool, async (client): Promise<{ earlier: { kind: string; resource_id: string } } | { created: T }> => {
    if (requestId) {
      // Serialize concurrent retries of the same request.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [requestId]);
      const { rows } = await client.query<{ kind: string; resource_id: string }>('SELECT kind, resource_id FROM idempotency_keys WHERE request_id = $1', [requestId]);
      if (rows[0]) return { earlier: rows[0] };
    }
    const created = await create(client);
    if (requestId) await client.query('INSERT INTO idempotency_keys (request_id, kind, resource_id) VALUES ($1, $2, $3)', [requestId, kind, created.id]);
    return { created: created.value };
  });
  if ('created' in outcome) return outcome.created;
  if (outcome.earlier.kind !== kind) throw invalid('request_id', `was already used for a ${outcome.earlier.kind}`);
  return load(outcome.earlier.resource_id);
}
