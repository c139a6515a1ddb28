import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { RegistryError } from '@ocireg/errors';
import { serviceOrigin } from '@ocireg/audit';
import { audit, checkId, hookOf, type HookRow } from './hook-store';
import type { SendResult } from './http-sender';
import type { OutgoingEvent } from './webhook-events';

export interface Attempt {
  at: string;
  statusCode: number;
  latencyMs: number;
  error: string;
  responseHead: string;
}

export interface Delivery {
  id: string;
  hookId: string;
  eventId: string;
  eventType: string;
  state: 'pending' | 'delivering' | 'succeeded' | 'failed';
  attempts: number;
  createdAt: string;
  nextAttemptAt: string;
  attemptLog: Attempt[];
}

/** A claimed delivery: what the worker sends. */
export interface ClaimedDelivery {
  id: string;
  hookId: string;
  eventId: string;
  body: string;
  attempts: number;
  createdAt: Date;
}

interface DeliveryRow {
  id: string;
  hook_id: string;
  event_id: string;
  event_type: string;
  state: Delivery['state'];
  attempts: number;
  created_at: Date;
  next_attempt_at: Date;
}

/** How long a claimed delivery is its worker's before another may take it (a dead worker's). */
const LEASE_SECONDS = 120;

/** wh_deliveries and wh_attempts: the queue of deliveries and their log. */
export class DeliveryStore {
  constructor(private readonly pool: Pool) {}

  /** One delivery per hook for an event from the stream; an event seen again (redelivery by the stream) adds none. */
  async enqueue(hookIds: string[], event: OutgoingEvent): Promise<number> {
    if (hookIds.length === 0) return 0;
    const { rowCount } = await this.pool.query(
      `INSERT INTO wh_deliveries (id, hook_id, event_id, event_type, origin, body)
       SELECT gen_random_uuid(), hook, $2, $3, 'event', $4 FROM unnest($1::uuid[]) AS hook
       ON CONFLICT (hook_id, event_id) WHERE origin = 'event' DO NOTHING`,
      [hookIds, event.id, event.type, event.body],
    );
    return rowCount ?? 0;
  }

  /** A delivery sent now, apart from the stream: a ping, or a redelivery of an earlier delivery's event. */
  async add(hookId: string, origin: 'ping' | 'redelivery', event: Pick<OutgoingEvent, 'id' | 'type' | 'body'>): Promise<string> {
    const id = randomUUID();
    await this.pool.query("INSERT INTO wh_deliveries (id, hook_id, event_id, event_type, origin, body) VALUES ($1, $2, $3, $4, $5, $6)", [id, hookId, event.id, event.type, origin, event.body]);
    return id;
  }

  async eventOf(hookId: string, deliveryId: string): Promise<{ id: string; type: string; body: string }> {
    const { rows } = await this.pool.query<{ event_id: string; event_type: string; body: string }>('SELECT event_id, event_type, body FROM wh_deliveries WHERE id = $1 AND hook_id = $2', [checkId(deliveryId, 'delivery_id'), hookId]);
    if (!rows[0]) throw new RegistryError('NOT_FOUND', `no delivery ${deliveryId.slice(0, 64)} of webhook ${hookId}`);
    return { id: rows[0].event_id, type: rows[0].event_type, body: rows[0].body };
  }

  /**
   * Due deliveries of enabled hooks, at most `perHook` in flight per hook
   * (those already in flight count) and `limit` in all; each leased to the
   * caller (SKIP LOCKED: replicas never take the same one).
   */
  async claim(limit: number, perHook: number): Promise<ClaimedDelivery[]> {
    const { rows } = await this.pool.query<{ id: string; hook_id: string; event_id: string; body: string; attempts: number; created_at: Date }>(
      `WITH in_flight AS (
         SELECT hook_id, count(*) AS n FROM wh_deliveries WHERE state = 'delivering' AND lease_until > now() GROUP BY hook_id
       ), due AS (
         SELECT d.id, d.hook_id, row_number() OVER (PARTITION BY d.hook_id ORDER BY d.next_attempt_at, d.id) AS rank
         FROM wh_deliveries d JOIN wh_hooks h ON h.id = d.hook_id AND h.enabled
         WHERE d.next_attempt_at <= now() AND (d.state = 'pending' OR (d.state = 'delivering' AND d.lease_until <= now()))
       ), chosen AS (
         SELECT due.id FROM due LEFT JOIN in_flight f ON f.hook_id = due.hook_id
         WHERE due.rank <= $2 - COALESCE(f.n, 0)
         LIMIT $1
       )
       UPDATE wh_deliveries d SET state = 'delivering', lease_until = now() + make_interval(secs => ${LEASE_SECONDS})
       FROM (SELECT id FROM wh_deliveries WHERE id IN (SELECT id FROM chosen) FOR UPDATE SKIP LOCKED) AS locked
       WHERE d.id = locked.id
       RETURNING d.id, d.hook_id, d.event_id, d.body, d.attempts, d.created_at`,
      [limit, perHook],
    );
    return rows.map((row) => ({ id: row.id, hookId: row.hook_id, eventId: row.event_id, body: row.body, attempts: row.attempts, createdAt: row.created_at }));
  }

  /**
   * Records an attempt and what follows: succeeded, pending again at
   * `retryAt`, or failed (given up). The hook's run of failures grows or
   * resets; past `disableAfter` it is disabled with the reason.
   */
  async settle(delivery: ClaimedDelivery, result: SendResult, retryAt: Date | undefined, disableAfter: number): Promise<void> {
    const ok = result.error === '';
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Gone with its hook (deleted meanwhile): nothing to record.
      const { rowCount } = await client.query('SELECT 1 FROM wh_deliveries WHERE id = $1 FOR UPDATE', [delivery.id]);
      if (!rowCount) {
        await client.query('ROLLBACK');
        return;
      }
      await client.query('INSERT INTO wh_attempts (delivery_id, status_code, latency_ms, error, response_head) VALUES ($1, $2, $3, $4, $5)', [
        delivery.id,
        result.statusCode,
        Math.min(result.latencyMs, 2 ** 31 - 1),
        result.error.slice(0, 500),
        result.responseHead.replace(/\u0000/g, ''),
      ]);
      const state = ok ? 'succeeded' : retryAt ? 'pending' : 'failed';
      await client.query('UPDATE wh_deliveries SET state = $2, attempts = attempts + 1, next_attempt_at = COALESCE($3, next_attempt_at), lease_until = NULL WHERE id = $1', [delivery.id, state, retryAt ?? null]);
      if (ok) await client.query('UPDATE wh_hooks SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0', [delivery.hookId]);
      else {
        const { rows } = await client.query<HookRow & { was_enabled: boolean }>(
          `UPDATE wh_hooks h SET consecutive_failures = h.consecutive_failures + 1,
             enabled = h.enabled AND h.consecutive_failures + 1 < $2,
             disabled_reason = CASE WHEN h.enabled AND h.consecutive_failures + 1 >= $2 THEN $3 ELSE h.disabled_reason END
           FROM (SELECT id, enabled AS was_enabled FROM wh_hooks WHERE id = $1 FOR UPDATE) old
           WHERE h.id = old.id RETURNING h.*, old.was_enabled`,
          [delivery.hookId, disableAfter, `disabled after ${disableAfter} failed deliveries in a row; the last: ${result.error.slice(0, 300)}`],
        );
        const hook = rows[0];
        // The service disables it on its own: the audit log says so, with the reason.
        if (hook?.was_enabled && !hook.enabled) {
          const disabled = hookOf(hook);
          await audit(client, serviceOrigin('webhooks', 'webhooks/delivery'), 'webhook.disabled', disabled, { enabled: true }, { enabled: false, reason: hook.disabled_reason });
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Deletes settled deliveries (and their attempts) older than `days`: the
   * delivery log is kept that long. Longer than the event stream keeps events
   * (7 days), so a redelivered event still finds the delivery it repeats.
   */
  async prune(days: number): Promise<number> {
    const { rowCount } = await this.pool.query("DELETE FROM wh_deliveries WHERE state IN ('succeeded', 'failed') AND created_at < now() - make_interval(days => $1)", [days]);
    return rowCount ?? 0;
  }

  /** A hook's deliveries, newest first, with their attempts. */
  async list(hookId: string, pageSize: number, pageToken: string): Promise<{ deliveries: Delivery[]; nextPageToken: string }> {
    const size = Math.min(Math.max(pageSize || 20, 1), 100);
    const after = pageToken ? decodeToken(pageToken) : undefined;
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT id, hook_id, event_id, event_type, state, attempts, created_at, next_attempt_at FROM wh_deliveries
       WHERE hook_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
       ORDER BY created_at DESC, id DESC LIMIT $4`,
      [hookId, after?.at ?? null, after?.id ?? null, size + 1],
    );
    const page = rows.slice(0, size);
    const { rows: attempts } = await this.pool.query<{ delivery_id: string; at: Date; status_code: number; latency_ms: number; error: string; response_head: string }>(
      'SELECT delivery_id, at, status_code, latency_ms, error, response_head FROM wh_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY id',
      [page.map((row) => row.id)],
    );
    const log = new Map<string, Attempt[]>();
    for (const a of attempts) log.set(a.delivery_id, [...(log.get(a.delivery_id) ?? []), { at: a.at.toISOString(), statusCode: a.status_code, latencyMs: a.latency_ms, error: a.error, responseHead: a.response_head }]);
    const last = page.at(-1);
    return {
      deliveries: page.map((row) => ({
        id: row.id,
        hookId: row.hook_id,
        eventId: row.event_id,
        eventType: row.event_type,
        state: row.state,
        attempts: row.attempts,
        createdAt: row.created_at.toISOString(),
        nextAttemptAt: row.state === 'pending' || row.state === 'delivering' ? row.next_attempt_at.toISOString() : '',
        attemptLog: log.get(row.id) ?? [],
      })),
      nextPageToken: rows.length > size && last ? Buffer.from(JSON.stringify({ at: last.created_at.toISOString(), id: last.id })).toString('base64url') : '',
    };
  }
}

function decodeToken(token: string): { at: string; id: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
    if (typeof parsed.at === 'string' && !Number.isNaN(Date.parse(parsed.at)) && typeof parsed.id === 'string') return { at: parsed.at, id: checkId(parsed.id, 'page_token') };
  } catch {
    // falls through
  }
  throw new RegistryError('INVALID_ARGUMENT', 'page_token: not a token this list gave', { field: 'page_token' });
}
