import type { Phase, PhaseRun } from './phases/phase';

const GIB = 1024 ** 3;

/** Both sides' runs of each phase of one pair. */
export interface PairResult {
  name: string;
  title: string;
  oursLabel: string;
  /** Absent when Distribution has no driver for the pair's storage: ocireg alone. */
  referenceLabel?: string;
  /** 1-minute load average when the pair started and ended. */
  load: { start: number; end: number };
  phases: Array<{ phase: Pick<Phase, 'id' | 'title' | 'showsMemory'>; ours: PhaseRun; reference?: PhaseRun }>;
}

/** Our services (the five Node processes): their memory is what the goal bounds. */
const OUR_SERVICES = ['gateway', 'blob-upload', 'metadata', 'auth', 'indexer'];

/** The comparison: each figure for both sides, ocireg/Distribution, and which way is better ("no driver" where Distribution has none). */
export function comparisonTable(pair: PairResult): string {
  const rows: string[][] = [];
  const ratio = (ours: number, reference: number | undefined) => (reference ? (ours / reference).toFixed(2) : 'n/a');
  const shown = (value: number | undefined, digits: number) => (value === undefined ? 'no driver' : value.toFixed(digits));
  for (const { phase, ours, reference } of pair.phases) {
    const [a, b] = [ours.figure, reference?.figure];
    if (a.kind === 'throughput' && b?.kind !== 'requests') {
      rows.push([`${phase.title} (MB/s)`, a.mbps.toFixed(0), shown(b?.mbps, 0), ratio(a.mbps, b?.mbps), 'higher']);
      if (a.finishSeconds !== undefined && (b === undefined || b.finishSeconds !== undefined)) {
        // The final PUTs: the digest checked, the bytes made durable and placed. (ocireg fsyncs a blob once, here;
        // Distribution's filesystem driver fsyncs as each PATCH ends, so its PUT mostly renames.)
        rows.push([`${phase.title}: in the final PUTs (s, all layers)`, a.finishSeconds.toFixed(2), shown(b?.finishSeconds, 2), ratio(a.finishSeconds, b?.finishSeconds), 'lower']);
      }
    } else if (a.kind === 'requests' && b?.kind !== 'throughput') {
      rows.push([`${phase.title} (req/s)`, a.rps.toFixed(0), shown(b?.rps, 0), ratio(a.rps, b?.rps), 'higher']);
      const latency = b ? `${b.p50Ms.toFixed(2)} / ${b.p99Ms.toFixed(2)}` : 'no driver';
      rows.push([`${phase.title} p50 / p99 (ms)`, `${a.p50Ms.toFixed(2)} / ${a.p99Ms.toFixed(2)}`, latency, b ? `${ratio(a.p50Ms, b.p50Ms)} / ${ratio(a.p99Ms, b.p99Ms)}` : 'n/a', 'lower']);
    }
    if (phase.showsMemory) {
      const services = OUR_SERVICES.map((name) => [name, ours.cost.peakRssMiB[name] ?? 0] as const);
      const [largest, largestMiB] = services.reduce((max, entry) => (entry[1] > max[1] ? entry : max));
      const distribution = reference && (reference.cost.peakRssMiB.distribution ?? 0);
      rows.push([`${phase.title}: peak RSS, largest service (MiB)`, `${largestMiB.toFixed(0)} (${largest})`, shown(distribution, 0), ratio(largestMiB, distribution), 'lower']);
    }
  }
  return markdown(['figure', 'ocireg', 'Distribution', 'ocireg / Distribution', 'better'], rows);
}

/** Peak resident memory (MiB) of every process, for the phases that watch it. */
export function memoryTable(pair: PairResult): string {
  const watched = pair.phases.filter(({ phase }) => phase.showsMemory);
  const names = (side: 'ours' | 'reference') => [...new Set(watched.flatMap((entry) => Object.keys(entry[side]?.cost.peakRssMiB ?? {})))];
  const rows = (['ours', 'reference'] as const).flatMap((side) =>
    names(side).map((name) => [`${side === 'ours' ? 'ocireg' : 'Distribution'}: ${name}`, ...watched.map((entry) => entry[side]?.cost.peakRssMiB[name]?.toFixed(0) ?? '-')]),
  );
  return markdown(['process', ...watched.map(({ phase }) => phase.title)], rows);
}

/**
 * Where the time goes: CPU seconds per GiB moved (per 1000 requests for
 * manifests) of every process, the load generator and this script included.
 */
export function cpuTable(pair: PairResult): string {
  const names = [...new Set(pair.phases.flatMap((entry) => [...Object.keys(entry.ours.cost.cpuSeconds), ...Object.keys(entry.reference?.cost.cpuSeconds ?? {})]))];
  const rows = pair.phases.flatMap(({ phase, ours, reference }) =>
    ([['ocireg', ours], ...(reference ? [['Distribution', reference] as const] : [])] as const).map(([side, run]) => {
      const per = run.figure.kind === 'throughput' ? run.figure.bytes / GIB : run.figure.allRequests / 1000;
      const cell = (seconds: number | undefined) => (seconds === undefined ? '' : (seconds / per).toFixed(2));
      const servers = Object.entries(run.cost.cpuSeconds).filter(([name]) => name !== 'loadgen' && name !== 'bench').reduce((sum, [, seconds]) => sum + seconds, 0);
      return [phase.title, side, run.figure.kind === 'throughput' ? 's/GiB' : 's/1000 req', cell(servers), ...names.map((name) => cell(run.cost.cpuSeconds[name]))];
    }),
  );
  return markdown(['phase', 'side', 'unit', 'servers', ...names], rows);
}

export function markdown(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
