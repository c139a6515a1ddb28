import { Counter, Gauge, Histogram, type Registry } from '@ocireg/metrics';
import type { Pool } from 'pg';

/** What operators watch of deliveries (docs/webhooks.md): attempts by outcome, their latency, the backlog. */
export function webhookMetrics(registry: Registry, pool: Pool): { attempted(ok: boolean, latencyMs: number): void } {
  const attempts = new Counter({ name: 'webhooks_delivery_attempts_total', help: 'Delivery attempts, by outcome (success: a 2xx answer)', labelNames: ['outcome'] as const, registers: [registry] });
  const latency = new Histogram({ name: 'webhooks_delivery_seconds', help: 'Time from connecting to the answer (or the failure) of each attempt', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] });
  new Gauge({
    name: 'webhooks_pending_deliveries',
    help: 'Deliveries not yet settled (waiting for their first attempt or a retry), of enabled hooks',
    registers: [registry],
    async collect() {
      const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM wh_deliveries d JOIN wh_hooks h ON h.id = d.hook_id AND h.enabled WHERE d.state IN ('pending', 'delivering')");
      this.set(Number(rows[0]?.n ?? 0));
    },
  });
  return {
    attempted(ok, latencyMs) {
      attempts.inc({ outcome: ok ? 'success' : 'failure' });
      latency.observe(latencyMs / 1000);
    },
  };
}
