import type { BenchConfig } from '../config';
import type { Loadgen } from '../loadgen';
import type { Cost } from '../measure';
import type { Target } from '../target';

/** A phase's figure on one target. */
export type Figure = { kind: 'throughput'; bytes: number; seconds: number; mbps: number; finishSeconds?: number } | { kind: 'requests'; requests: number; allRequests: number; rps: number; p50Ms: number; p99Ms: number };

export interface PhaseRun {
  figure: Figure;
  cost: Cost;
}

export interface PhaseContext {
  config: BenchConfig;
  loadgen: Loadgen;
  /** A directory on the targets' filesystem for the bench's own scratch files. */
  scratchDir: string;
}

/** One measured step, run on each target of a pair in turn. */
export interface Phase {
  id: string;
  /** The table's row, e.g. "push 1 GiB in 4 layers, 1 stream". */
  title: string;
  /** The table shows every process's peak memory for this phase. */
  showsMemory?: boolean;
  /** Bytes it writes to each target's storage (for the free-disk check). */
  storesBytes: number;
  run(target: Target, context: PhaseContext): Promise<PhaseRun>;
}
