import { tmpdir } from 'node:os';

/**
 * The registries compared side by side, per storage backend: the local
 * filesystem, one MinIO; and ours alone on Azurite and on fake-gcs-server
 * (Debian's Distribution 2.8 has no azure or gcs driver).
 */
export type PairName = 'fs' | 's3' | 'azure' | 'gcs';
export const PAIR_NAMES: PairName[] = ['fs', 's3', 'azure', 'gcs'];
/** What a run does unless BENCH_PAIRS says otherwise: the comparisons with Distribution. */
export const DEFAULT_PAIRS: PairName[] = ['fs', 's3'];

export interface BenchConfig {
  /** Bytes pushed and pulled per throughput figure: 4 layers of a quarter each (BENCH_TOTAL_MIB, 1024). */
  totalMiB: number;
  /** The large single layer whose push shows memory stays flat (BENCH_BIG_MIB, 4096). */
  bigMiB: number;
  /** Measured seconds of each manifest load (BENCH_LOAD_SECONDS, 8), after the warm-up. */
  loadSeconds: number;
  /** Seconds of manifest load before measuring (BENCH_WARMUP_SECONDS, 3): servers are measured warm, as they run. */
  warmupSeconds: number;
  /** Keep-alive clients of the manifest load (BENCH_CLIENTS, 32). */
  clients: number;
  /** Pairs to run, in order (BENCH_PAIRS, "fs,s3"; also azure, gcs). */
  pairs: PairName[];
  /** How pulls are checked: against the regenerated layer (bytes, cheap) or by sha256 (BENCH_VERIFY). */
  verify: 'bytes' | 'sha256';
  /** Where the registries keep their data during the run (BENCH_DIR, the system's temporary directory). */
  workRoot: string;
  /** Only these phases, by id (BENCH_PHASES, e.g. "push-big,pull-big"; a pull needs its push); all when empty. */
  phases: string[];
  /** Where our services write CPU profiles, one per process (BENCH_PROFILE_DIR; none when unset). */
  profileDir?: string;
  /** Extra variables for our services, to try settings (BENCH_SERVICE_ENV, e.g. "MALLOC_ARENA_MAX=2 UPLOAD_PART_SIZE=5242880"; the gateway's node flags are GATEWAY_NODE_FLAGS in libs/devstack). */
  serviceEnv: Record<string, string>;
}

/** containerd's and crane's PATCH size for chunked uploads. */
export const CHUNK_BYTES = 5 * 1024 * 1024;
export const LAYERS = 4;
export const MIB = 1024 * 1024;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const number = (name: string, fallback: number, least: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < least) throw new Error(`${name} must be an integer of at least ${least}, not ${JSON.stringify(env[name])}`);
    return value;
  };
  const pairs = (env.BENCH_PAIRS ?? DEFAULT_PAIRS.join(',')).split(',').map((name) => name.trim()).filter(Boolean);
  for (const pair of pairs) if (!PAIR_NAMES.includes(pair as PairName)) throw new Error(`BENCH_PAIRS: unknown pair "${pair}" (known: ${PAIR_NAMES.join(', ')})`);
  const verify = env.BENCH_VERIFY ?? 'bytes';
  if (verify !== 'bytes' && verify !== 'sha256') throw new Error(`BENCH_VERIFY must be bytes or sha256, not "${verify}"`);
  const totalMiB = number('BENCH_TOTAL_MIB', 1024, LAYERS);
  if (totalMiB % LAYERS !== 0) throw new Error(`BENCH_TOTAL_MIB must be a multiple of ${LAYERS}`);
  return Object.freeze({
    totalMiB,
    bigMiB: number('BENCH_BIG_MIB', 4096, 1),
    loadSeconds: number('BENCH_LOAD_SECONDS', 8, 1),
    warmupSeconds: number('BENCH_WARMUP_SECONDS', 3, 0),
    clients: number('BENCH_CLIENTS', 32, 1),
    pairs: pairs as PairName[],
    verify,
    workRoot: env.BENCH_DIR ?? tmpdir(),
    phases: (env.BENCH_PHASES ?? '').split(',').map((id) => id.trim()).filter(Boolean),
    profileDir: env.BENCH_PROFILE_DIR || undefined,
    serviceEnv: parseServiceEnv(env.BENCH_SERVICE_ENV ?? ''),
  });
}

/** "K=V K2=V2" (separated by spaces) as variables. */
function parseServiceEnv(text: string): Record<string, string> {
  const entries = text.split(/\s+/).filter(Boolean).map((pair) => {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new Error(`BENCH_SERVICE_ENV: expected NAME=value, got "${pair}"`);
    return [match[1]!, match[2]!] as const;
  });
  return Object.fromEntries(entries);
}
