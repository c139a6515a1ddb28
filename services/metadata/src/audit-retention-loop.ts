import type { Pool } from 'pg';
import { pruneAuditLog } from '@ocireg/audit';
import type { Logger } from '@ocireg/logger';

/** How often retention looks for entries past the period. */
const EVERY_MS = 60 * 60 * 1000;

/**
 * Deletes audit entries older than `retentionDays`, every chain's, once an
 * hour (one replica at a time; the rest find nothing). Each run that deletes
 * something records where each chain now starts (libs/audit audit-retention.ts).
 */
export function startAuditRetention(pool: Pool, retentionDays: number, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const run = () => {
    running = pruneAuditLog(pool, retentionDays)
      .then((removed) => {
        if (Object.keys(removed).length > 0) logger.info({ removed, retentionDays }, 'audit entries past their retention deleted');
      })
      .catch((err: unknown) => logger.warn({ err }, 'audit retention failed; it tries again in an hour'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(run, EVERY_MS);
  timer.unref();
  run();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
