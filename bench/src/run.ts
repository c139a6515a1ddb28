import { performance } from 'node:perf_hooks';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPushableWorkspace, createUserWithToken, startRegistry, type ServiceName } from '@ocireg/devstack';
import { REPO_ROOT, startDependencies } from '@ocireg/testenv';
import { http, pullBlob, pushBlob, pushManifest, useAuthorization } from './client';
import { startDistribution } from './distribution';

const TOTAL_MIB = Number(process.env.BENCH_TOTAL_MIB ?? 1024);
const LAYERS = 4;
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 8);

interface Figures {
  pushOneStreamMBps: number;
  pushFourStreamsMBps: number;
  pullOneStreamMBps: number;
  pullFourStreamsMBps: number;
  headRps: number;
  headP50ms: number;
  headP99ms: number;
  getRps: number;
  getP50ms: number;
  getP99ms: number;
  peakMemoryMiB: number;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Peak resident memory (VmHWM) of a process, in MiB. */
function peakMemoryMiB(pid: number | undefined): number {
  if (!pid) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/**
 * 32 concurrent keep-alive clients for a fixed time (node:http, which handles
 * HEAD correctly, unlike wrk and autocannon); latency percentiles in ms.
 */
async function load(url: string, method: 'HEAD' | 'GET'): Promise<{ rps: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const deadline = Date.now() + LOAD_SECONDS * 1000;
  const worker = async () => {
    while (Date.now() < deadline) {
      const started = performance.now();
      const result = await http(method, url, undefined, { Accept: 'application/vnd.oci.image.manifest.v1+json' });
      if (result.status !== 200) throw new Error(`${method} ${url}: ${result.status}`);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { rps: latencies.length / LOAD_SECONDS, p50: at(0.5), p99: at(0.99) };
}

async function measure(name: string, base: string, pids: () => Array<number | undefined>): Promise<Figures> {
  const layerMiB = TOTAL_MIB / LAYERS;
  const mb = (TOTAL_MIB * 1024 * 1024) / 1e6;
  const repository = 'bench/images';
  console.log(`[${name}] pushing ${TOTAL_MIB} MiB in ${LAYERS} layers, one stream ...`);
  const sequential: string[] = [];
  const pushOne = await timed(async () => {
    for (let i = 0; i < LAYERS; i++) sequential.push(await pushBlob(base, repository, `${name}-seq-${i}`, layerMiB));
  });
  console.log(`[${name}] pushing ${TOTAL_MIB} MiB in ${LAYERS} concurrent streams ...`);
  let concurrent: string[] = [];
  const pushFour = await timed(async () => {
    concurrent = await Promise.all(Array.from({ length: LAYERS }, (_, i) => pushBlob(base, repository, `${name}-par-${i}`, layerMiB)));
  });
  console.log(`[${name}] pulling ...`);
  const pullOne = await timed(async () => {
    for (const digest of sequential) await pullBlob(base, repository, digest);
  });
  const pullFour = await timed(() => Promise.all(concurrent.map((digest) => pullBlob(base, repository, digest))));

  await pushManifest(base, repository, sequential.map((digest) => ({ digest, size: layerMiB * 1024 * 1024 })));
  console.log(`[${name}] manifest HEAD and GET, 32 connections, ${LOAD_SECONDS} s each ...`);
  const head = await load(`${base}/v2/${repository}/manifests/bench`, 'HEAD');
  const get = await load(`${base}/v2/${repository}/manifests/bench`, 'GET');
  return {
    pushOneStreamMBps: mb / pushOne,
    pushFourStreamsMBps: mb / pushFour,
    pullOneStreamMBps: mb / pullOne,
    pullFourStreamsMBps: mb / pullFour,
    headRps: head.rps,
    headP50ms: head.p50,
    headP99ms: head.p99,
    getRps: get.rps,
    getP50ms: get.p50,
    getP99ms: get.p99,
    peakMemoryMiB: pids().reduce<number>((sum, pid) => sum + peakMemoryMiB(pid), 0),
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'ocireg-bench-'));
  const dependencies = await startDependencies({ only: ['postgres', 'redis', 'minio'] });
  const registry = await startRegistry({ dependencyEnv: dependencies.env, logDir: path.join(work, 'logs'), extraEnv: { LOG_LEVEL: 'warn' } });
  const workspace = await createPushableWorkspace(registry.adminAddress, 'bench', registry.operator.authorization);
  const user = await createUserWithToken(
    registry.adminAddress,
    { email: 'bench@example.com', scopes: ['read:package', 'write:package'], repositoryId: workspace.repositoryId, role: 'write' },
    registry.operator.authorization,
  );
  const distribution = await startDistribution(path.join(work, 'distribution'));
  const services: ServiceName[] = ['gateway', 'blob-upload', 'metadata', 'auth', 'indexer'];
  try {
    useAuthorization(undefined);
    const reference = await measure('distribution', distribution.url, () => [distribution.pid]);
    // Basic credentials on every request, as clients that skip the token flow send them.
    useAuthorization(`Basic ${Buffer.from(`${user.email}:${user.token}`).toString('base64')}`);
    const ours = await measure('ocireg', registry.gatewayUrl, () => services.map((service) => registry.pid(service)));
    const storageMemory = ['minio', 'postgres', 'redis'].map((name) => `${name} ${peakMemoryMiB(dependencies.pids[name as 'minio']).toFixed(0)} MiB`).join(', ');

    const rows = (Object.keys(ours) as Array<keyof Figures>).map((key) => ({
      metric: key,
      ocireg: Number(ours[key].toFixed(2)),
      distribution: Number(reference[key].toFixed(2)),
      'ocireg/distribution': Number((ours[key] / reference[key]).toFixed(2)),
    }));
    console.log(`\nBenchmark ${new Date().toISOString().slice(0, 10)}: ${TOTAL_MIB} MiB in ${LAYERS} layers; 32 keep-alive clients x ${LOAD_SECONDS} s; MB/s = 10^6 bytes/s`);
    console.table(rows);
    console.log(`ocireg peak memory counts its five services; its storage servers peaked at: ${storageMemory}.`);
    mkdirSync(path.join(REPO_ROOT, 'reports'), { recursive: true });
    writeFileSync(path.join(REPO_ROOT, 'reports', 'bench.json'), JSON.stringify({ date: new Date().toISOString(), totalMiB: TOTAL_MIB, rows }, null, 2));
  } finally {
    await distribution.stop();
    await registry.stop();
    await dependencies.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
