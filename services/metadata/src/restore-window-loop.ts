import type { Logger } from '@ocireg/logger';
import type { RestoreWindow } from './restore-window';

/** Deletions purged per run at most; a run with a full batch runs again at once. */
const BATCH = 500;

/**
 * Purges deletions whose restore window ended, every `intervalMs` (any
 * number of replicas: rows are taken with SKIP LOCKED). Their purge queues
 * garbage collection reviews, so the next collection rounds free the bytes
 * nothing else references. stop() waits for a running purge.
 */
export function startRestoreWindowPurge(window: RestoreWindow, options: { intervalMs: number; logger: Logger }): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const run = () => {
    if (running || stopped) return;
    running = (async () => {
      let purged = 0;
      for (let n = BATCH; n === BATCH && !stopped; purged += n) n = await window.purgeExpired(BATCH);
      if (purged > 0) options.logger.info({ purged }, 'deletions past the restore window purged; garbage collection frees what only they kept');
    })()
      .catch((err: unknown) => options.logger.warn({ err }, 'purging deletions past the restore window failed; tried again next run'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(run, options.intervalMs);
  timer.unref();
  run();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
