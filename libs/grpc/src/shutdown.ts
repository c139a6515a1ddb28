import type { Logger } from '@ocireg/logger';

export type ShutdownStep = { name: string; run: () => Promise<unknown> | unknown };

/**
 * On SIGTERM or SIGINT, runs the steps once, in order (stop accepting, drain,
 * close pools), then exits. A second signal exits at once.
 */
export function onShutdown(logger: Logger, steps: ShutdownStep[]): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void (async () => {
      for (const step of steps) {
        try {
          await step.run();
        } catch (err) {
          logger.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', handle);
  process.once('SIGINT', handle);
}

/** Runs a service's start-up; a failure (bad config, unreachable dependency) prints its message and exits 1. */
export function runService(start: () => Promise<void>): void {
  start().catch((err: unknown) => {
    console.error(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
