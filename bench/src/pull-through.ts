import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { createGrpcClient, unaryCall } from '@ocireg/grpc';
import { upstreams } from '@ocireg/proto';
import { REPO_ROOT } from '@ocireg/testenv';
import { LAYERS, MIB } from './config';
import { startDistribution } from './distribution';
import { Loadgen, type Endpoint, type Layer, type TransferResult } from './loadgen';
import { startEmbeddedOcireg } from './ocireg';
import { markdown } from './table';
import { REPOSITORY } from './target';

/**
 * `pnpm bench:pull-through` (docs/performance.md, docs/pull-through.md): an
 * image of LAYERS layers (BENCH_PULL_THROUGH_MIB in all, 256) in a CNCF
 * Distribution on loopback (Debian's docker-registry, filesystem), the
 * upstream of our embedded mode's workspace. Each run pulls, with the bench's
 * load generator, a layer per stream, every byte checked:
 *  - DIRECT from the upstream,
 *  - COLD through the cache (`<workspace>/hub/<name>`: every blob fetched,
 *    spooled, stored and streamed at once), goal at least 0.9x DIRECT,
 *  - WARM through the cache (now cached),
 *  - and, for WARM's comparison, an ORDINARY pull of an image of the same
 *    size pushed to our registry, goal at least 0.9x.
 * Each run uses new layers (a cold pull can be made once); the table shows
 * the median of BENCH_PULL_THROUGH_RUNS (3) runs.
 */
const TOTAL_MIB = Number(process.env.BENCH_PULL_THROUGH_MIB ?? 256);
const RUNS = Number(process.env.BENCH_PULL_THROUGH_RUNS ?? 3);
const GOAL = 0.9;
const UPSTREAM_REPOSITORY = 'library/pulled';

interface Run {
  direct: TransferResult;
  cold: TransferResult;
  warm: TransferResult;
  ordinary: TransferResult;
}

async function main(): Promise<void> {
  if (!Number.isInteger(TOTAL_MIB) || TOTAL_MIB < LAYERS || TOTAL_MIB % LAYERS !== 0) throw new Error(`BENCH_PULL_THROUGH_MIB must be a multiple of ${LAYERS}`);
  if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('BENCH_PULL_THROUGH_RUNS must be a positive integer');
  const loadgen = new Loadgen();
  const workRoot = process.env.BENCH_DIR ?? tmpdir();
  mkdirSync(workRoot, { recursive: true });
  const work = mkdtempSync(path.join(workRoot, 'ocireg-bench-pull-through-'));
  // As root, PostgreSQL runs as its own user and must pass through to its data directory.
  chmodSync(work, 0o755);
  say(`pull-through: ${TOTAL_MIB} MiB in ${LAYERS} layers, ${LAYERS} streams, ${RUNS} runs; load average ${loadavg()[0]!.toFixed(2)}; starting Distribution (the upstream) and ocireg (embedded filesystem mode) in ${work} ...`);
  const upstream = await startDistribution(path.join(work, 'upstream'), { kind: 'filesystem' });
  // The upstream is on loopback, which an operator must allow.
  // BENCH_PROFILE_DIR: a CPU profile per service, as `pnpm bench` writes them (profile-preload.ts).
  const profile: Record<string, string> = process.env.BENCH_PROFILE_DIR ? { NODE_OPTIONS: `--require ${path.join(__dirname, 'profile-preload.js')}`, OCIREG_PROFILE_DIR: path.resolve(process.env.BENCH_PROFILE_DIR) } : {};
  const ocireg = await startEmbeddedOcireg(path.join(work, 'ocireg'), { UPSTREAM_ALLOWED_CIDRS: '127.0.0.0/8', ...profile }).catch(async (err: unknown) => {
    await upstream.stop();
    throw err;
  });
  const runs: Run[] = [];
  try {
    const client = createGrpcClient(upstreams.UpstreamServiceClient, ocireg.registry.adminAddress, { kind: 'public' });
    try {
      await unaryCall(
        client.createUpstream.bind(client),
        { workspaceSlug: ocireg.workspace.slug, name: 'hub', url: upstream.url, username: '', password: '', sourceRepositoryId: ocireg.workspace.sourceRepositoryId, namespaces: [] },
        { authorization: ocireg.registry.operator.authorization },
      );
    } finally {
      client.close();
    }
    const cached = `${ocireg.workspace.slug}/hub/${UPSTREAM_REPOSITORY}`;
    const quarter = (TOTAL_MIB / LAYERS) * MIB;
    for (let run = 0; run < RUNS; run++) {
      const seeds = (prefix: string) => Array.from({ length: LAYERS }, (_, i) => ({ seed: `${prefix}-${run}-${i}`, size: quarter }));
      const digested = await loadgen.digests([...seeds('upstream'), ...seeds('ordinary')]);
      const image = digested.filter((layer) => layer.seed.startsWith('upstream-'));
      const own = digested.filter((layer) => layer.seed.startsWith('ordinary-'));
      await loadgen.push({ url: upstream.url }, UPSTREAM_REPOSITORY, image, { streams: LAYERS });
      const ours = await ocireg.target.authorization();
      await loadgen.push({ url: ocireg.target.url, authorization: ours }, REPOSITORY, own, { streams: LAYERS });

      const pull = (endpoint: Endpoint, repository: string, layers: Layer[]) => loadgen.pull(endpoint, repository, layers, { streams: LAYERS, verify: 'bytes' });
      const direct = await pull({ url: upstream.url }, UPSTREAM_REPOSITORY, image);
      const throughCache: Endpoint = { url: ocireg.target.url, authorization: await bearer(ocireg.target.url, ocireg.user, cached) };
      const cold = await pull(throughCache, cached, image);
      // A fill commits after its clients got the last byte: WARM is measured once every blob is in the cache.
      await untilCached(throughCache, cached, image);
      const warm = await pull(throughCache, cached, image);
      const ordinary = await pull({ url: ocireg.target.url, authorization: ours }, REPOSITORY, own);
      runs.push({ direct, cold, warm, ordinary });
      say(`run ${run + 1}: direct ${mbps(direct).toFixed(0)} MB/s, cold ${mbps(cold).toFixed(0)} MB/s, warm ${mbps(warm).toFixed(0)} MB/s, ordinary ${mbps(ordinary).toFixed(0)} MB/s`);
    }
  } finally {
    await ocireg.stop();
    await upstream.stop();
    rmSync(work, { recursive: true, force: true });
  }

  const median = (pick: (run: Run) => TransferResult) => {
    const sorted = runs.map((run) => mbps(pick(run))).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const row = (figure: string, ours: number, versus: string, reference: number) => {
    const ratio = ours / reference;
    return [figure, ours.toFixed(0), versus, reference.toFixed(0), ratio.toFixed(2), `>= ${GOAL}`, ratio >= GOAL ? 'met' : 'missed'];
  };
  const rows = [
    row('cold pull through the cache (MB/s)', median((r) => r.cold), 'direct pull from the upstream', median((r) => r.direct)),
    row('warm pull through the cache (MB/s)', median((r) => r.warm), 'ordinary pull (a pushed image)', median((r) => r.ordinary)),
  ];
  const machine = `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Linux ${release()}, Node ${process.version}`;
  const report = [
    `Pull-through benchmark of ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${machine}. ${TOTAL_MIB} MiB in ${LAYERS} layers, ${LAYERS} streams, median of ${RUNS} runs; upstream Distribution (filesystem) and ocireg (embedded filesystem mode) on loopback; MB/s = 10^6 bytes/s; every byte checked.`,
    markdown(['figure', 'MB/s', 'compared with', 'MB/s', 'ratio', 'goal', ''], rows),
  ].join('\n\n');
  say(`\n${report}`);
  const reports = path.join(REPO_ROOT, 'reports');
  mkdirSync(reports, { recursive: true });
  writeFileSync(path.join(reports, 'bench-pull-through.md'), `${report}\n`);
  writeFileSync(path.join(reports, 'bench-pull-through.json'), JSON.stringify({ date: new Date().toISOString(), machine, totalMiB: TOTAL_MIB, layers: LAYERS, runs }, null, 2));
}

/**
 * Waits until every layer is committed to the cache: a HEAD then answers from
 * the cache, which serves ranges (Accept-Ranges), not from the upstream.
 */
async function untilCached(endpoint: Endpoint, repository: string, layers: Layer[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (const layer of layers) {
    for (;;) {
      const res = await fetch(`${endpoint.url}/v2/${repository}/blobs/${layer.digest}`, { method: 'HEAD', headers: { Authorization: endpoint.authorization ?? '' } });
      if (res.status === 200 && res.headers.get('accept-ranges') === 'bytes') break;
      if (Date.now() > deadline) throw new Error(`${repository}@${layer.digest} was not cached within 120 s (HEAD answered ${res.status})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** "Bearer <token>" for pulling `repository`, found as docker finds it: the challenge of /v2/, then the token endpoint with Basic credentials. */
async function bearer(url: string, user: { email: string; token: string }, repository: string): Promise<string> {
  const challenge = (await fetch(`${url}/v2/`)).headers.get('www-authenticate') ?? '';
  const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(challenge)?.[1];
  const realm = new URL(param('realm') ?? '/v2/token', url);
  realm.searchParams.set('service', param('service') ?? '');
  realm.searchParams.set('scope', `repository:${repository}:pull`);
  const res = await fetch(realm, { headers: { Authorization: `Basic ${Buffer.from(`${user.email}:${user.token}`).toString('base64')}` } });
  if (!res.ok) throw new Error(`token endpoint: ${res.status} ${await res.text()}`);
  return `Bearer ${((await res.json()) as { token: string }).token}`;
}

function mbps(result: TransferResult): number {
  return result.bytes / 1e6 / result.seconds;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
