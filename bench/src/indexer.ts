import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPushableWorkspace, createUserWithToken, startRegistry, type RunningRegistry } from '@ocireg/devstack';
import { REPO_ROOT, startDependencies } from '@ocireg/testenv';

/**
 * How long a finished push takes to show in the listing (p50/p99 over
 * PUSHES pushes), and how many events per second the indexer applies when it
 * works through a backlog. The reference measured in the same run is the
 * push itself: the manifest PUT latency the client waited for.
 */
const PUSHES = Number(process.env.BENCH_PUSHES ?? 200);
const BACKLOG = Number(process.env.BENCH_BACKLOG_EVENTS ?? 2000);

interface Client {
  base: string;
  authorization: string;
}

async function call(client: Client, method: string, url: string, body?: Buffer, contentType?: string): Promise<Response> {
  return fetch(`${client.base}${url}`, { method, headers: { Authorization: client.authorization, ...(contentType ? { 'Content-Type': contentType } : {}) }, body });
}

async function pushBlob(client: Client, repository: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const response = await call(client, 'POST', `/v2/${repository}/blobs/uploads/?digest=${digest}`, bytes, 'application/octet-stream');
  if (response.status !== 201) throw new Error(`blob upload: ${response.status} ${await response.text()}`);
  return { digest, size: bytes.length };
}

/** A small image: a config and one layer, then the manifest; returns the manifest and the PUT latency. */
async function pushImage(client: Client, repository: string, tag: string): Promise<{ manifest: Buffer; putMs: number }> {
  const config = await pushBlob(client, repository, Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', created: new Date().toISOString(), rootfs: { type: 'layers', diff_ids: [] } })));
  const layer = await pushBlob(client, repository, randomBytes(1024));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  );
  const started = performance.now();
  await putManifest(client, repository, tag, manifest);
  return { manifest, putMs: performance.now() - started };
}

async function putManifest(client: Client, repository: string, tag: string, manifest: Buffer): Promise<void> {
  const response = await call(client, 'PUT', `/v2/${repository}/manifests/${tag}`, manifest, 'application/vnd.oci.image.manifest.v1+json');
  if (response.status !== 201) throw new Error(`manifest PUT: ${response.status} ${await response.text()}`);
}

async function listedTagCount(client: Client, workspace: string, name: string): Promise<number> {
  const response = await call(client, 'GET', `/api/v1/workspaces/${workspace}/images?prefix=${encodeURIComponent(name)}`);
  const body = (await response.json()) as { images?: Array<{ name: string; tagCount: number }> };
  return body.images?.find((image) => image.name === name)?.tagCount ?? 0;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function measure(label: string, registry: RunningRegistry, client: Client, workspace: string) {
  console.log(`[${label}] ${PUSHES} pushes, each polled in the listing until it shows ...`);
  const delays: number[] = [];
  const puts: number[] = [];
  for (let i = 0; i < PUSHES; i++) {
    const name = `delay-${i % 20}`;
    const tag = `t${i}`;
    const { putMs } = await pushImage(client, `${workspace}/${name}`, tag);
    const pushedAt = performance.now();
    for (;;) {
      const response = await call(client, 'GET', `/api/v1/workspaces/${workspace}/images/${name}/-/tags/${tag}`);
      await response.arrayBuffer();
      if (response.status === 200) break;
      if (performance.now() - pushedAt > 30_000) throw new Error(`${workspace}/${name}:${tag} not listed after 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    delays.push(performance.now() - pushedAt);
    puts.push(putMs);
  }
  delays.sort((a, b) => a - b);
  puts.sort((a, b) => a - b);

  console.log(`[${label}] backlog of ${BACKLOG} tag events while the indexer is down, then timing its catch-up ...`);
  const { manifest } = await pushImage(client, `${workspace}/backlog`, 'base');
  while ((await listedTagCount(client, workspace, 'backlog')) < 1) await new Promise((resolve) => setTimeout(resolve, 10));
  process.kill(registry.pid('indexer')!, 'SIGKILL');
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < BACKLOG) await putManifest(client, `${workspace}/backlog`, `b${next++}`, manifest);
    }),
  );
  await registry.restart('indexer');
  let firstAt = 0;
  let firstCount = 0;
  for (;;) {
    const count = (await listedTagCount(client, workspace, 'backlog')) - 1;
    if (count > 0 && !firstAt) {
      firstAt = performance.now();
      firstCount = count;
    }
    if (count >= BACKLOG) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const catchUpSeconds = (performance.now() - firstAt) / 1000;
  return {
    listedP50ms: percentile(delays, 0.5),
    listedP99ms: percentile(delays, 0.99),
    listedMaxms: delays[delays.length - 1]!,
    manifestPutP50ms: percentile(puts, 0.5),
    manifestPutP99ms: percentile(puts, 0.99),
    indexerEventsPerSecond: (BACKLOG - firstCount) / Math.max(catchUpSeconds, 0.001),
  };
}

/** One registry per event transport, measured one after the other in the same run. */
async function measureTransport(label: string, dependencyEnv: Record<string, string>, work: string) {
  // Info level: devstack knows the indexer has joined its consumer group from its "consuming registry events" line.
  const registry = await startRegistry({ dependencyEnv, logDir: path.join(work, `logs-${label}`) });
  try {
    const workspace = await createPushableWorkspace(registry.adminAddress, `bench-${label}`, registry.operator.authorization);
    const user = await createUserWithToken(
      registry.adminAddress,
      { email: `bench-${label}@example.com`, scopes: ['read:package', 'write:package'], sourceRepositoryId: workspace.sourceRepositoryId, role: 'write' },
      registry.operator.authorization,
    );
    const client = { base: registry.gatewayUrl, authorization: `Basic ${Buffer.from(`${user.email}:${user.token}`).toString('base64')}` };
    return await measure(label, registry, client, workspace.slug);
  } finally {
    await registry.stop();
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'ocireg-bench-indexer-'));
  const dependencies = await startDependencies({ only: ['postgres', 'redis', 'kafka', 'minio'] });
  try {
    const kafka = await measureTransport('kafka', dependencies.env, work);
    const { KAFKA_BROKERS: _kafka, ...withoutKafka } = dependencies.env;
    const log = await measureTransport('pglog', withoutKafka, work);
    const row = (metric: string, key: keyof typeof kafka) => ({
      metric,
      kafka: Number(kafka[key].toFixed(1)),
      'postgres log': Number(log[key].toFixed(1)),
      'kafka / manifest PUT p50': Number((kafka[key] / kafka.manifestPutP50ms).toFixed(2)),
    });
    const rows = [
      row('listed after push, p50 (ms)', 'listedP50ms'),
      row('listed after push, p99 (ms)', 'listedP99ms'),
      row('listed after push, max (ms)', 'listedMaxms'),
      row('manifest PUT, p50 (ms)', 'manifestPutP50ms'),
      row('manifest PUT, p99 (ms)', 'manifestPutP99ms'),
      { ...row('indexer catch-up (events/s)', 'indexerEventsPerSecond'), 'kafka / manifest PUT p50': Number.NaN },
    ];
    console.log(`\nIndexer benchmark ${new Date().toISOString().slice(0, 10)}: ${PUSHES} pushes (small images, each polled in the JSON listing until shown), backlog of ${BACKLOG} tag events; events through Kafka and through the PostgreSQL event log (embedded mode)`);
    console.table(rows);
    mkdirSync(path.join(REPO_ROOT, 'reports'), { recursive: true });
    writeFileSync(path.join(REPO_ROOT, 'reports', 'bench-indexer.json'), JSON.stringify({ date: new Date().toISOString(), pushes: PUSHES, backlog: BACKLOG, kafka, postgresLog: log }, null, 2));
  } finally {
    await dependencies.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
