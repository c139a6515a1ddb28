import type { Client } from '@grpc/grpc-js';
import type { Logger } from '@ocireg/logger';

/** How often a failed readiness check runs again. */
const RETRY_MS = 1_000;

export interface Readiness {
  /** True once the check has passed (it is not run again after that). */
  readonly ready: boolean;
  /** Stops retrying (shutdown). */
  stop(): void;
}

/**
 * Runs `check` until it passes once, every second, then calls `onReady`. A
 * service uses it to take traffic only when it can serve it: a new pod may
 * start before its dependencies accept it (a NetworkPolicy controller admits a
 * new pod's address a few seconds after the pod starts), and a load balancer
 * that sends it requests meanwhile would see them fail. Passing once is
 * enough: later outages of a dependency are answered per request
 * (UNAVAILABLE), not by taking every replica out of service at once.
 */
export function untilReady(what: string, check: () => Promise<unknown>, logger: Logger, onReady: () => void = () => undefined): Readiness {
  let ready = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const attempt = async () => {
    try {
      await check();
    } catch (err) {
      failures++;
      // The first failure and then one a minute: a dependency that is slow to admit us is normal at start.
      if (failures === 1 || failures % 60 === 0) logger.warn({ err, failures }, `not ready yet: ${what}`);
      if (!stopped) timer = setTimeout(() => void attempt(), RETRY_MS);
      return;
    }
    if (stopped) return;
    ready = true;
    logger.info({ afterFailures: failures }, `ready: ${what}`);
    onReady();
  };
  void attempt();
  return {
    get ready() {
      return ready;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Resolves when the client's channel is connected (TCP and TLS done), or rejects after `timeoutMs`. */
export function channelReady(client: Client, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())));
}
