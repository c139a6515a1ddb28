import { cpuSeconds, cpuSecondsSince } from './cpu';
import { RssSampler } from './rss-sampler';
import type { Target } from './target';

/** What one phase cost on one target: per-process CPU seconds and peak memory, the load generator's included. */
export interface Cost {
  /** CPU seconds by process, incl. "loadgen" (the load generator, as it reports itself) and "bench" (this Node process). */
  cpuSeconds: Record<string, number>;
  /** Peak resident memory by process, in MiB. */
  peakRssMiB: Record<string, number>;
}

/**
 * Runs `work` (one load generator run against `target`) and measures what it
 * cost every process that serves the target: CPU from /proc/<pid>/stat before
 * and after, memory sampled during it.
 */
export async function measure<T extends { cpuSeconds: number }>(target: Target, work: (onStart: (pid: number) => void) => Promise<T>): Promise<{ result: T; cost: Cost }> {
  const processes = target.processes();
  const sampler = new RssSampler(processes);
  const before = cpuSeconds(processes);
  const ownBefore = process.cpuUsage();
  let result: T;
  let peakRssMiB: Record<string, number>;
  try {
    result = await work((pid) => sampler.add('loadgen', pid));
  } finally {
    peakRssMiB = sampler.stop();
  }
  const own = process.cpuUsage(ownBefore);
  return {
    result,
    cost: {
      cpuSeconds: { ...cpuSecondsSince(before, processes), loadgen: result.cpuSeconds, bench: (own.user + own.system) / 1e6 },
      peakRssMiB,
    },
  };
}
