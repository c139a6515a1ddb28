import { chmodSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, totalmem } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '@ocireg/testenv';
import { loadConfig, type BenchConfig } from './config';
import { Loadgen } from './loadgen';
import { startPair } from './pairs';
import type { Phase } from './phases/phase';
import { scratchBytes } from './page-cache';
import { planPhases } from './plan';
import { comparisonTable, cpuTable, memoryTable, type PairResult } from './table';

/**
 * `pnpm bench`: each pair of registries on the same kind of storage, side by
 * side in one run; every phase on Distribution, then on ocireg (ocireg alone
 * on azure and gcs); one table per pair, written to reports/bench.md and
 * reports/bench.json.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const started = new Date();
  say(`ocireg vs Distribution: ${config.pairs.join(', ')}; ${config.totalMiB} MiB in 4 layers, one ${config.bigMiB} MiB layer, ${config.clients} clients x ${config.loadSeconds} s; load average ${loadavg()[0]!.toFixed(2)}`);
  const loadgen = new Loadgen();
  say('computing the layers\' digests ...');
  const phases = await planPhases(config, loadgen);
  mkdirSync(config.workRoot, { recursive: true });
  const runDir = mkdtempSync(path.join(config.workRoot, 'ocireg-bench-'));
  const removeRunDir = () => rmSync(runDir, { recursive: true, force: true });
  onSignal.add(removeRunDir);
  // As root, PostgreSQL runs as its own user and must pass through to its data directory.
  chmodSync(runDir, 0o755);
  const results: PairResult[] = [];
  try {
    for (const name of config.pairs) results.push(await runPair(name, path.join(runDir, name), phases, config, loadgen));
  } finally {
    removeRunDir();
  }

  const machine = `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Linux ${release()}, Node ${process.version}`;
  const sections = results.map((pair) =>
    [
      `### ${pair.title}`,
      `Load average (1 min) ${pair.load.start.toFixed(2)} at the start, ${pair.load.end.toFixed(2)} at the end.`,
      comparisonTable(pair),
      'Peak resident memory (MiB) of every process:',
      memoryTable(pair),
      'CPU seconds per GiB moved (per 1000 requests for manifests), by process; `loadgen` is the load generator, `bench` this script:',
      cpuTable(pair),
    ].join('\n\n'),
  );
  const header = `Benchmark of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${hostname()}: ${machine}. ${config.totalMiB} MiB in 4 layers, one ${config.bigMiB} MiB layer, ${config.clients} keep-alive clients x ${config.loadSeconds} s per manifest figure after ${config.warmupSeconds} s of warm-up; MB/s = 10^6 bytes/s; pulls checked byte for byte (${config.verify}).`;
  const report = [header, ...sections].join('\n\n');
  say(`\n${report}`);
  const reports = path.join(REPO_ROOT, 'reports');
  mkdirSync(reports, { recursive: true });
  writeFileSync(path.join(reports, 'bench.md'), `${report}\n`);
  writeFileSync(path.join(reports, 'bench.json'), JSON.stringify({ date: started.toISOString(), machine, config, pairs: results }, null, 2));
  say(`\nwritten to ${path.relative(process.cwd(), path.join(reports, 'bench.md'))} and bench.json`);
}

async function runPair(name: BenchConfig['pairs'][number], dir: string, phases: Phase[], config: BenchConfig, loadgen: Loadgen): Promise<PairResult> {
  // Each side keeps every layer it was sent until the pair stops (then its data goes), and a scratch file comes and goes before each push.
  const largest = Math.max(0, ...phases.map((phase) => phase.storesBytes));
  requireFreeDisk(path.dirname(dir), 2 * phases.reduce((sum, phase) => sum + phase.storesBytes, 0) + scratchBytes(largest) + 2 * 1024 ** 3);
  say(`\n[${name}] starting both registries ...`);
  const pair = await startPair(name, dir, serviceEnv(config));
  const stopPair = () => pair.stop();
  onSignal.add(stopPair);
  const result: PairResult = { name, title: pair.title, oursLabel: pair.ours.label, referenceLabel: pair.reference?.label, load: { start: loadavg()[0]!, end: 0 }, phases: [] };
  try {
    for (const phase of phases) {
      const reference = pair.reference && (await phase.run(pair.reference, { config, loadgen, scratchDir: dir }));
      if (reference) say(`[${name}] ${phase.title}: Distribution ${describe(reference.figure)}`);
      const ours = await phase.run(pair.ours, { config, loadgen, scratchDir: dir });
      say(`[${name}] ${phase.title}: ocireg ${describe(ours.figure)}`);
      result.phases.push({ phase: { id: phase.id, title: phase.title, showsMemory: phase.showsMemory }, ours, reference });
    }
  } finally {
    result.load.end = loadavg()[0]!;
    onSignal.delete(stopPair);
    await pair.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

/** BENCH_SERVICE_ENV, plus what writes CPU profiles (see profile-preload.ts) when asked for. */
function serviceEnv(config: BenchConfig): Record<string, string> {
  if (!config.profileDir) return config.serviceEnv;
  const nodeOptions = [config.serviceEnv.NODE_OPTIONS, `--require ${path.join(__dirname, 'profile-preload.js')}`].filter(Boolean).join(' ');
  return { ...config.serviceEnv, NODE_OPTIONS: nodeOptions, OCIREG_PROFILE_DIR: path.resolve(config.profileDir) };
}

function describe(figure: PairResult['phases'][number]['ours']['figure']): string {
  return figure.kind === 'throughput' ? `${figure.mbps.toFixed(0)} MB/s` : `${figure.rps.toFixed(0)} req/s, p50 ${figure.p50Ms.toFixed(2)} ms, p99 ${figure.p99Ms.toFixed(2)} ms`;
}

/** Fails early, with the numbers, when the disk cannot hold what the pair will write. */
function requireFreeDisk(dir: string, bytes: number): void {
  mkdirSync(dir, { recursive: true });
  const stats = statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  if (free < bytes) throw new Error(`${dir} has ${(free / 1024 ** 3).toFixed(1)} GiB free; this pair needs about ${(bytes / 1024 ** 3).toFixed(1)} GiB (lower BENCH_TOTAL_MIB or BENCH_BIG_MIB, or set BENCH_DIR)`);
}

/**
 * What an interrupted run undoes before it exits, newest first: the running
 * pair's processes, then the work directory (several GiB of layers).
 */
const onSignal = new Set<() => unknown>();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    say(`\n${signal}: stopping the registries and removing the work directory ...`);
    const steps = [...onSignal].reverse();
    void (async () => {
      for (const step of steps) await Promise.resolve().then(step).catch((err: unknown) => console.error(err));
    })().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

main().catch((err: unknown) => {
  // An interrupted run fails where it was (a load generator cut off, say); the signal's handler says why and exits.
  if (interrupted) return;
  console.error(err);
  process.exit(1);
});
