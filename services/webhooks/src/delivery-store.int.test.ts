// The delivery queue against PostgreSQL: one delivery per hook and event id,
// at most N in flight per hook, retries, auto-disable recorded in the audit
// log, the log's retention.
import { randomBytes } from 'node:crypto';
import { serviceOrigin } from '@ocireg/audit';
import { createLogger } from '@ocireg/logger';
import { createDatabase } from '@ocireg/testenv';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryStore } from './delivery-store';
import { HookStore, webhookSecretSeal } from './hook-store';
import { migrate } from './migrate';
import { webhookEventOf } from './webhook-events';

const origin = serviceOrigin('webhooks', 'test');
const failed = { statusCode: 500, latencyMs: 3, error: 'the target answered 500', responseHead: 'no' };
const event = (id: string) => webhookEventOf({ schemaVersion: 1, id, time: new Date().toISOString(), action: 'manifest.pushed', target: { workspace: 'acme', repository: 'acme/app', package: 'app', digest: 'sha256:aa' }, actor: '', requestId: '' })!;

describe('the delivery queue', () => {
  let pool: Pool;
  let hooks: HookStore;
  let deliveries: DeliveryStore;
  beforeAll(async () => {
    const url = await createDatabase(process.env.DATABASE_URL!, 'webhooks');
    await migrate(url, createLogger({ service: 'test', level: 'silent' }));
    pool = new Pool({ connectionString: url });
    hooks = new HookStore(pool, webhookSecretSeal(randomBytes(32).toString('base64')));
    deliveries = new DeliveryStore(pool);
  });
  afterAll(async () => {
    await pool.end();
  });

  it('makes one delivery per hook and event id, and leases at most perHook of a hook at a time', async () => {
    const { hook } = await hooks.create({ workspace: 'acme', url: 'https://hooks.example.com/', eventTypes: [], packagePatterns: [] }, origin);
    expect(await deliveries.enqueue([hook.id], event('e1'))).toBe(1);
    expect(await deliveries.enqueue([hook.id], event('e1'))).toBe(0); // the stream delivered it again
    for (const id of ['e2', 'e3', 'e4']) await deliveries.enqueue([hook.id], event(id));
    const first = await deliveries.claim(10, 2);
    expect(first).toHaveLength(2);
    expect(await deliveries.claim(10, 2)).toHaveLength(0); // two in flight already
    await deliveries.settle(first[0]!, { statusCode: 200, latencyMs: 5, error: '', responseHead: 'ok' }, undefined, 10);
    await deliveries.settle(first[1]!, failed, new Date(Date.now() + 60_000), 10);
    const next = await deliveries.claim(10, 2);
    expect(next.map((d) => d.eventId).sort()).toEqual(['e3', 'e4']); // the failed one waits for its retry
    const log = await deliveries.list(hook.id, 10, '');
    expect(log.deliveries.find((d) => d.id === first[1]!.id)).toMatchObject({ state: 'pending', attempts: 1, attemptLog: [{ statusCode: 500, error: 'the target answered 500', responseHead: 'no' }] });
  });

  it('disables a hook after a run of failures, with the reason in the hook and the audit log', async () => {
    const { hook } = await hooks.create({ workspace: 'acme', url: 'https://hooks.example.com/b', eventTypes: [], packagePatterns: [] }, origin);
    for (const id of ['f1', 'f2', 'f3']) await deliveries.enqueue([hook.id], event(id));
    const claimed = await deliveries.claim(10, 5);
    for (const d of claimed) await deliveries.settle(d, failed, new Date(Date.now() + 60_000), 3);
    expect(await hooks.get(hook.id)).toMatchObject({ enabled: false, consecutiveFailures: 3, disabledReason: 'disabled after 3 failed deliveries in a row; the last: the target answered 500' });
    const { rows } = await pool.query("SELECT actor_service, after FROM audit_log WHERE action = 'webhook.disabled' AND target_id = $1", [hook.id]);
    expect(rows).toEqual([{ actor_service: 'webhooks/delivery', after: { enabled: false, reason: expect.stringContaining('3 failed deliveries') } }]);
    // A disabled hook's deliveries wait; enabled again, the run starts over.
    await deliveries.enqueue([hook.id], event('f4'));
    expect((await deliveries.claim(10, 5)).some((d) => d.hookId === hook.id)).toBe(false);
    expect(await hooks.update(hook.id, { enabled: true }, origin)).toMatchObject({ enabled: true, consecutiveFailures: 0, disabledReason: '' });
  });

  it('keeps settled deliveries for the log period only', async () => {
    const { hook } = await hooks.create({ workspace: 'acme', url: 'https://hooks.example.com/c', eventTypes: [], packagePatterns: [] }, origin);
    await deliveries.enqueue([hook.id], event('old'));
    const [d] = await deliveries.claim(10, 5).then((all) => all.filter((x) => x.hookId === hook.id));
    await deliveries.settle(d!, { statusCode: 204, latencyMs: 1, error: '', responseHead: '' }, undefined, 10);
    await pool.query("UPDATE wh_deliveries SET created_at = now() - interval '31 days' WHERE id = $1", [d!.id]);
    expect(await deliveries.prune(30)).toBe(1);
    expect((await deliveries.list(hook.id, 10, '')).deliveries).toEqual([]);
  });
});
