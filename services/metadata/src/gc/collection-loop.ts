import type { Logger } from '@ocireg/logger';
import type { Collector } from './collector';

/**
 * Runs a collection round every `intervalMs` (rounds never overlap), with the
 * orphan sweep every `sweepIntervalMs`; stop() waits for a running round.
 */
export function startCollectionLoop(collector: Collector, options: { intervalMs: number; sweepIntervalMs: number; logger: Logger }): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  // The first sweep waits a full interval: a restart loop must not list the whole storage each time.
  let lastSweep = Date.now();

  const round = async () => {
    const sweep = Date.now() - lastSweep >= options.sweepIntervalMs;
    try {
      await collector.collect({ sweep });
      if (sweep) lastSweep = Date.now();
    } catch (err) {
      options.logger.error({ err }, 'garbage collection round failed');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round().finally(() => {
        running = undefined;
        schedule();
      });
    }, options.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
