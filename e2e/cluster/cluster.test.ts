/**
 * The Helm chart on a live single-node Kubernetes cluster (scripts/cluster/cluster.sh), with
 * the images built here (scripts/images.sh) loaded straight into the node's containerd.
 *
 * 1. trial install (PostgreSQL, Redis, Kafka, MinIO in the release): every pod Ready through the
 *    chart's probes, the migrations hook ran, docker login + push + pull through the gateway's
 *    NodePort Service, the pushed image in the JSON listing, NetworkPolicies enforced,
 *    `helm upgrade` to a changed value while a client pulls in a loop without one failure,
 *    a pod of each service (and each trial dependency) killed and back with nothing lost,
 *    `helm uninstall` leaves nothing in the namespace.
 * 2. install against external dependencies: this test's own PostgreSQL, Redis, MinIO and Kafka on
 *    the host, reached from the pods through the node address; the same push, pull and listing;
 *    uninstall.
 *
 * Needs root (the cluster is network namespaces, a bridge, iptables and cgroups) and what
 * scripts/cluster/deps.sh installs; `bash scripts/test.sh` runs both.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPushableWorkspace, createUserWithToken, GATEWAY_ENV, GATEWAY_NODE_FLAGS, generateRegistrySecrets, type UserToken } from '@ocireg/devstack';
import { REPO_ROOT, startDependencies, startKafkaOn, type StartedDependencies } from '@ocireg/testenv';
import { SERVICE_NAMES } from '@ocireg/topology';
import { LocalCluster, relay, sh, sleep } from './kube';

/** Every process of the registry, as the topology (and so the chart) defines them. */
const SERVICES: readonly string[] = SERVICE_NAMES;
const TRIAL = ['postgres', 'redis', 'kafka', 'minio'] as const;
const MINUTE = 60_000;
const clusterDir = process.env.OCIREG_CLUSTER_DIR ?? '/tmp/ocireg-cluster';

let cluster: LocalCluster;
let images: Record<string, string>;
let hostDeps: StartedDependencies | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
const timings: Record<string, number> = {};
const began = Date.now();

async function timed<T>(name: string, step: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await step();
  } finally {
    timings[name] = (Date.now() - start) / 1000;
  }
}

function docker(args: string[], input?: string): Promise<string> {
  return sh('docker', args, { input, env: { ...process.env, DOCKER_HOST: hostDeps!.env.DOCKER_HOST, DOCKER_CONFIG: dockerConfig } });
}
const dockerConfig = mkdtempSync(path.join(tmpdir(), 'ocireg-cluster-docker-'));

/** helm --set arguments for the images this run built. */
function imageValues(): string[] {
  return [
    `images.gateway=${images.OCIREG_GATEWAY}`,
    `images.auth=${images.OCIREG_AUTH}`,
    `images.metadata=${images.OCIREG_METADATA}`,
    `images.blobUpload=${images.OCIREG_BLOB_UPLOAD}`,
    `images.indexer=${images.OCIREG_INDEXER}`,
    `trial.postgres.image=${images.OCIREG_TRIAL_POSTGRES}`,
    `trial.redis.image=${images.OCIREG_TRIAL_REDIS}`,
    `trial.kafka.image=${images.OCIREG_TRIAL_KAFKA}`,
    `trial.minio.image=${images.OCIREG_TRIAL_MINIO}`,
  ].flatMap((value) => ['--set', value]);
}

/** Settings every install here shares: a NodePort gateway, two gateways (rollouts), one of the others, small CPU requests (two cores). */
function commonValues(operatorEmail: string): string[] {
  const values = [
    'image.pullPolicy=Never',
    'gateway.service.type=NodePort',
    'gateway.replicas=2',
    'auth.replicas=1',
    'metadata.replicas=1',
    'blobUpload.replicas=1',
    'indexer.replicas=1',
    `auth.operatorEmails=${operatorEmail}`,
    `auth.bootstrapAdmin.email=${operatorEmail}`,
    'auth.bootstrapAdmin.existingSecret=ocireg-bootstrap',
    ...['gateway', 'auth', 'metadata', 'blobUpload', 'indexer'].map((key) => `${key}.resources.requests.cpu=20m`),
  ];
  return [...imageValues(), ...values.flatMap((value) => ['--set', value])];
}

interface Release {
  name: string;
  namespace: string;
  operator: { email: string; token: string; authorization: string };
  registryHost: string;
}

/** The namespace, the bootstrap operator's Secret, then helm install --wait. */
async function install(name: string, extra: string[]): Promise<Release> {
  const namespace = name;
  const secrets = generateRegistrySecrets(`operator@${name}.example.com`);
  await cluster.kubectl(['create', 'namespace', namespace]);
  await cluster.kubectl(['create', 'secret', 'generic', 'ocireg-bootstrap', '-n', namespace, `--from-literal=BOOTSTRAP_ADMIN_TOKEN=${secrets.operator.token}`]);
  await cluster.helm(['install', name, path.join(REPO_ROOT, 'charts/ocireg'), '-n', namespace, '--wait', '--timeout', '10m', ...commonValues(secrets.operator.email), ...extra]);
  const service = await cluster.json(['get', 'service', '-n', namespace, `${name}-ocireg-gateway`]);
  const nodePort = service.spec.ports.find((p: any) => p.name === 'http').nodePort as number;
  const registryHost = `127.0.0.1:${nodePort}`;
  // --wait saw the pods Ready; kube-proxy may program the NodePort a moment later (until then: connection refused).
  await retry(async () => {
    const { status } = await request(`http://${registryHost}/healthz`);
    if (status !== 200) throw new Error(`the gateway's NodePort answered /healthz with ${status}`);
  }, 2 * MINUTE);
  return { name, namespace, operator: { ...secrets.operator, authorization: `Bearer ${secrets.operator.token}` }, registryHost };
}

/** A workspace that creates packages on push and its admin, through a port-forward to the gateway's admin port (as registryctl). */
async function workspaceOf(release: Release): Promise<{ slug: string; admin: UserToken }> {
  const adminPort = await cluster.portForward(release.namespace, `${release.name}-ocireg-admin`, 50050);
  try {
    const slug = `ws${randomBytes(4).toString('hex')}`;
    const workspace = await createPushableWorkspace(adminPort.address, slug, release.operator.authorization);
    const admin = await createUserWithToken(
      adminPort.address,
      { email: `admin@${slug}.example.com`, scopes: ['read:package', 'write:package', 'admin:package'], sourceRepositoryId: workspace.sourceRepositoryId, role: 'admin' },
      release.operator.authorization,
    );
    return { slug, admin };
  } finally {
    adminPort.close();
  }
}

/** An image of random bytes made with docker import (nothing pulled). */
async function importRandomImage(reference: string): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ocireg-cluster-image-'));
  mkdirSync(path.join(dir, 'rootfs'));
  writeFileSync(path.join(dir, 'rootfs', 'random.bin'), randomBytes(2 * 1024 * 1024));
  await sh('tar', ['-C', path.join(dir, 'rootfs'), '-cf', path.join(dir, 'rootfs.tar'), '.']);
  await docker(['import', path.join(dir, 'rootfs.tar'), reference]);
  rmSync(dir, { recursive: true, force: true });
}

/** docker login, push; then remove the local copy and pull it back: the same digest. */
async function pushAndPull(release: Release, workspace: { slug: string; admin: UserToken }, image: string): Promise<string> {
  const reference = `${release.registryHost}/${workspace.slug}/${image}`;
  await docker(['login', release.registryHost, '--username', workspace.admin.email, '--password-stdin'], workspace.admin.token);
  await importRandomImage(reference);
  const pushed = await docker(['push', reference]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)?.[1];
  expect(digest, pushed).toBeDefined();
  await docker(['rmi', reference]);
  const pulled = await docker(['pull', reference]);
  expect(pulled).toContain(digest!);
  return digest!;
}

function basic(user: UserToken): string {
  return `Basic ${Buffer.from(`${user.email}:${user.token}`).toString('base64')}`;
}

/** One HTTP request on a fresh connection (as a pulling client opening connections does). */
function request(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

async function listedImages(release: Release, workspace: { slug: string; admin: UserToken }): Promise<Array<{ name: string; tagCount: number; lastDigest: string }>> {
  const { status, body } = await request(`http://${release.registryHost}/api/v1/workspaces/${workspace.slug}/images`, { Authorization: basic(workspace.admin) });
  expect(status, body.toString()).toBe(200);
  return (JSON.parse(body.toString()) as { images: Array<{ name: string; tagCount: number; lastDigest: string }> }).images;
}

async function eventuallyListed(release: Release, workspace: { slug: string; admin: UserToken }, name: string, digest: string, tagCount = 1): Promise<void> {
  const deadline = Date.now() + MINUTE;
  let last: unknown;
  while (Date.now() < deadline) {
    last = await listedImages(release, workspace);
    if ((last as Array<{ name: string; tagCount: number }>).some((image) => image.name === name && image.tagCount >= tagCount)) return;
    await sleep(500);
  }
  throw new Error(`${name} (${digest}) not listed after a minute: ${JSON.stringify(last)}`);
}

/** `kubectl exec` a TCP connect from a pod; resolves to "connected" or the error. */
async function connectFrom(namespace: string, pod: string, host: string, port: number): Promise<string> {
  const script = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port},timeout:3000},()=>{console.log('connected');process.exit(0)});s.on('timeout',()=>{console.log('timeout');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})`;
  return cluster.kubectl(['exec', '-n', namespace, pod, '--', 'node', '-e', script]);
}

/** Every object left in a namespace, but the ones Kubernetes itself puts in each namespace and events. */
async function leftovers(namespace: string): Promise<string[]> {
  const kinds = (await cluster.kubectl(['api-resources', '--verbs=list', '--namespaced', '-o', 'name'])).split('\n').filter((kind) => kind && !/^events(\.events\.k8s\.io)?$/.test(kind));
  const names = (await cluster.kubectl(['get', kinds.join(','), '-n', namespace, '--ignore-not-found', '-o', 'name'])).split('\n').filter(Boolean);
  return names.filter((name) => name !== 'configmap/kube-root-ca.crt' && name !== 'serviceaccount/default');
}

beforeAll(async () => {
  await timed('cluster up', async () => {
    cluster = await LocalCluster.start();
  });
  cleanups.push(() => LocalCluster.script('down').then(() => undefined));
  await timed('images build and load', async () => {
    // test.sh built the workspace; the images are made from that build.
    await sh('bash', [path.join(REPO_ROOT, 'scripts/images.sh'), '--no-build', '--load', 'containerd'], { env: cluster.env });
  });
  images = Object.fromEntries(
    readFileSync(path.join(REPO_ROOT, 'build/images/images.env'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => line.split('=') as [string, string]),
  );
  hostDeps = await timed('host dependencies', () => startDependencies({ only: ['postgres', 'redis', 'minio', 'dockerd'] }));
  cleanups.push(() => hostDeps?.stop());
}, 30 * MINUTE);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dockerConfig, { recursive: true, force: true });
  timings.total = (Date.now() - began) / 1000;
  console.log(`[cluster] timings (s): ${JSON.stringify(timings)}`);
}, 10 * MINUTE);

describe('the chart with trial dependencies on a live cluster', () => {
  let release: Release;
  let workspace: { slug: string; admin: UserToken };
  let digest: string;

  it('installs, and every pod becomes Ready through the chart probes', async () => {
    release = await timed('trial install', () => install('trial', ['--set', 'trial.enabled=true']));
    const pods = await cluster.waitAllReady(release.namespace, 5 * MINUTE);
    const components = new Set(pods.map((pod) => pod.metadata.labels['app.kubernetes.io/component']));
    expect([...components].sort()).toEqual([...SERVICES, ...TRIAL].sort());
    // Readiness came from the probes the chart declares, not from a default.
    for (const pod of pods.filter((p) => SERVICES.includes(p.metadata.labels['app.kubernetes.io/component']))) {
      const container = pod.spec.containers[0];
      expect(container.readinessProbe, pod.metadata.name).toBeDefined();
      expect(container.startupProbe, pod.metadata.name).toBeDefined();
      expect(pod.spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
      expect(pod.spec.securityContext.runAsUser).toBe(10001);
    }
    // The gateway runs with the node flags and environment devstack starts it with (GATEWAY_NODE_FLAGS and GATEWAY_ENV in libs/devstack).
    const gateway = pods.find((pod) => pod.metadata.labels['app.kubernetes.io/component'] === 'gateway');
    const procFile = async (file: string) =>
      (await cluster.kubectl(['exec', '-n', release.namespace, gateway.metadata.name, '--', 'node', '-p', `require('fs').readFileSync('/proc/1/${file}', 'utf8').split('\\0').join(' ')`])).trim().split(' ');
    const commandLine = await procFile('cmdline');
    for (const flag of GATEWAY_NODE_FLAGS) expect(commandLine).toContain(flag);
    const environment = await procFile('environ');
    for (const [name, value] of Object.entries(GATEWAY_ENV)) expect(environment).toContain(`${name}=${value}`);
  }, 15 * MINUTE);

  it('ran the migrations hook (post-install: the release creates its PostgreSQL)', async () => {
    await expectMigrationsCompleted(release);
  });

  it('takes docker login, push and pull through the gateway Service, and lists the image in the JSON API', async () => {
    workspace = await workspaceOf(release);
    digest = await timed('trial push and pull', () => pushAndPull(release, workspace, 'app/hello:1'));
    await eventuallyListed(release, workspace, 'app/hello', digest);
    // The gateway image carries the web UI, and /healthz (the probes' path) answers without credentials.
    const page = await request(`http://${release.registryHost}/`, {});
    expect([page.status, page.body.toString()]).toEqual([200, expect.stringContaining('<div id="root">')]);
    expect((await request(`http://${release.registryHost}/healthz`, {})).status).toBe(200);
  }, 10 * MINUTE);

  it('enforces the NetworkPolicies: the gateway reaches metadata and Redis, not PostgreSQL; an unlabelled pod reaches neither', async () => {
    const gateway = (await cluster.json(['get', 'pods', '-n', release.namespace, '-l', 'app.kubernetes.io/component=gateway'])).items[0].metadata.name;
    expect(await connectFrom(release.namespace, gateway, `${release.name}-ocireg-metadata`, 50052)).toBe('connected');
    expect(await connectFrom(release.namespace, gateway, `${release.name}-ocireg-redis`, 6379)).toBe('connected');
    expect(await connectFrom(release.namespace, gateway, `${release.name}-ocireg-postgres`, 5432)).not.toBe('connected');
    // A pod that is not part of the release (same image, no labels) is refused by metadata and PostgreSQL.
    await cluster.kubectl([
      'run', 'intruder', '-n', release.namespace, '--restart=Never', `--image=${images.OCIREG_GATEWAY}`, '--image-pull-policy=Never',
      '--overrides', JSON.stringify({ spec: { securityContext: { runAsNonRoot: true, runAsUser: 10001 } } }),
      '--command', '--', 'node', '-e', 'setTimeout(() => {}, 600000)',
    ]);
    await cluster.kubectl(['wait', '-n', release.namespace, '--for=condition=Ready', 'pod/intruder', '--timeout=120s']);
    expect(await connectFrom(release.namespace, 'intruder', `${release.name}-ocireg-metadata`, 50052)).not.toBe('connected');
    expect(await connectFrom(release.namespace, 'intruder', `${release.name}-ocireg-postgres`, 5432)).not.toBe('connected');
    await cluster.kubectl(['delete', 'pod', 'intruder', '-n', release.namespace, '--grace-period=1']);
  }, 5 * MINUTE);

  it('rolls out a changed value (helm upgrade) while a client pulls in a loop, without one failed request', async () => {
    const registry = `http://${release.registryHost}`;
    const repository = `${workspace.slug}/app/hello`;
    const tokenResponse = await request(`${registry}/v2/token?service=ocireg&scope=repository:${repository}:pull`, { Authorization: basic(workspace.admin) });
    expect(tokenResponse.status).toBe(200);
    const token = (JSON.parse(tokenResponse.body.toString()) as { token: string }).token;
    const accept = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
    const before = (await cluster.json(['get', 'pods', '-n', release.namespace, '-l', 'app.kubernetes.io/component=gateway'])).items.map((p: any) => p.metadata.uid);

    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const puller = (async () => {
      while (running) {
        try {
          const manifest = await request(`${registry}/v2/${repository}/manifests/1`, { Authorization: `Bearer ${token}`, Accept: accept });
          if (manifest.status !== 200) throw new Error(`manifest ${manifest.status}: ${manifest.body.toString().slice(0, 200)}`);
          if (manifest.headers['docker-content-digest'] !== digest) throw new Error(`manifest digest ${manifest.headers['docker-content-digest']}`);
          const config = (JSON.parse(manifest.body.toString()) as { config: { digest: string } }).config.digest;
          const blob = await request(`${registry}/v2/${repository}/blobs/${config}`, { Authorization: `Bearer ${token}` });
          if (blob.status !== 200) throw new Error(`config blob ${blob.status}`);
          ok += 1;
        } catch (err) {
          failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
        }
      }
    })();
    try {
      await timed('trial upgrade under load', () => cluster.helm(['upgrade', release.name, path.join(REPO_ROOT, 'charts/ocireg'), '-n', release.namespace, '--reuse-values', '--set', 'logLevel=debug', '--wait', '--timeout', '10m']));
      await cluster.waitAllReady(release.namespace, 5 * MINUTE);
      await sleep(3000);
    } finally {
      running = false;
      await puller;
    }
    const after = (await cluster.json(['get', 'pods', '-n', release.namespace, '-l', 'app.kubernetes.io/component=gateway'])).items;
    // The change rolled every gateway pod, and the new ones run with it.
    expect(after.map((p: any) => p.metadata.uid).filter((uid: string) => before.includes(uid))).toEqual([]);
    const configMap = await cluster.json(['get', 'configmap', '-n', release.namespace, `${release.name}-ocireg-config`]);
    expect(configMap.data.LOG_LEVEL).toBe('debug');
    console.log(`[cluster] pulls during the rollout: ${ok} ok, ${failures.length} failed`);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(20);
  }, 15 * MINUTE);

  it('brings back a killed pod of each service and each trial dependency with nothing lost', async () => {
    const components = [...SERVICES, ...TRIAL];
    const podsBefore = (await cluster.json(['get', 'pods', '-n', release.namespace])).items.filter((p: any) => p.status.phase === 'Running');
    const victims = components.map((component) => {
      const pod = podsBefore.find((p: any) => p.metadata.labels['app.kubernetes.io/component'] === component);
      expect(pod, component).toBeDefined();
      return pod.metadata;
    });
    await timed('kill and recover', async () => {
      await cluster.kubectl(['delete', 'pod', '-n', release.namespace, '--wait=false', '--grace-period=1', ...victims.map((v: any) => v.name)]);
      // Back: each component has Ready pods again, none of them a killed one.
      const deadline = Date.now() + 8 * MINUTE;
      for (;;) {
        const pods = await cluster.waitAllReady(release.namespace, Math.max(1000, deadline - Date.now()));
        const uids = new Set(pods.map((p: any) => p.metadata.uid));
        const back = components.every((component) => pods.some((p: any) => p.metadata.labels['app.kubernetes.io/component'] === component));
        if (back && victims.every((v: any) => !uids.has(v.uid))) break;
        if (Date.now() > deadline) throw new Error('killed pods did not come back');
        await sleep(1000);
      }
    });
    // Nothing lost: the image pulls again with its digest, the listing still has it, and a new push works.
    await docker(['rmi', `${release.registryHost}/${workspace.slug}/app/hello:1`]);
    const pulled = await retry(() => docker(['pull', `${release.registryHost}/${workspace.slug}/app/hello:1`]), 2 * MINUTE);
    expect(pulled).toContain(digest);
    expect((await listedImages(release, workspace)).find((image) => image.name === 'app/hello')).toBeDefined();
    const second = await retry(() => pushAndPull(release, workspace, 'app/hello:2'), 2 * MINUTE);
    await eventuallyListed(release, workspace, 'app/hello', second, 2);
  }, 15 * MINUTE);

  it('uninstalls without leaving anything behind', async () => {
    await timed('trial uninstall', () => cluster.helm(['uninstall', release.name, '-n', release.namespace, '--wait', '--timeout', '5m']));
    await cluster.kubectl(['delete', 'secret', 'ocireg-bootstrap', '-n', release.namespace]);
    await retryUntil(async () => leftovers(release.namespace), (left) => left.length === 0, 2 * MINUTE);
    // The trial claims went with the release; their volumes are released, then reclaimed for the next install.
    const pvs = (await cluster.json(['get', 'pv'])).items;
    expect(pvs.filter((pv: any) => pv.spec.claimRef?.namespace === release.namespace && pv.status.phase === 'Bound')).toEqual([]);
    await LocalCluster.script('reclaim-volumes');
    await cluster.kubectl(['delete', 'namespace', release.namespace]);
  }, 10 * MINUTE);
});

describe('the chart against external dependencies on the host', () => {
  let release: Release;
  let kafka: { stop(): Promise<void> } | undefined;

  it('installs against the test\'s own PostgreSQL, Redis, MinIO and Kafka, reached through the node address, and pushes, pulls and lists', async () => {
    const nodeIp = cluster.nodeIp;
    const env = hostDeps!.env;
    const hostPort = (url: string) => {
      const parsed = new URL(url);
      return { host: parsed.hostname, port: Number(parsed.port) };
    };
    const postgres = await relay(nodeIp, hostPort(env.DATABASE_URL!));
    const redis = await relay(nodeIp, hostPort(env.REDIS_URL!));
    const minio = await relay(nodeIp, hostPort(env.S3_ENDPOINT!));
    cleanups.push(() => {
      for (const r of [postgres, redis, minio]) r.server.close();
    });
    // Kafka advertises its own address to clients, so a relay will not do: one broker listening on the node address.
    const started = await startKafkaOn(nodeIp);
    kafka = started;
    cleanups.push(() => started.stop());
    const kafkaPort = started.brokers.slice(started.brokers.lastIndexOf(':') + 1);

    const databaseUrl = new URL(env.DATABASE_URL!);
    databaseUrl.host = `${nodeIp}:${postgres.port}`;
    const values = [
      `postgres.url=${databaseUrl}`,
      `redis.url=redis://${nodeIp}:${redis.port}`,
      `kafka.brokers=${started.brokers}`,
      `s3.endpoint=http://${nodeIp}:${minio.port}`,
      `s3.bucket=${env.S3_BUCKET}`,
      `s3.region=${env.S3_REGION}`,
      `s3.accessKey=${env.S3_ACCESS_KEY}`,
      `s3.secretKey=${env.S3_SECRET_KEY}`,
      // The NetworkPolicies allow exactly these ports on exactly the node address.
      `networkPolicy.dependencies.postgres.ports={${postgres.port}}`,
      `networkPolicy.dependencies.redis.ports={${redis.port}}`,
      `networkPolicy.dependencies.kafka.ports={${kafkaPort}}`,
      `networkPolicy.dependencies.s3.ports={${minio.port}}`,
      ...['postgres', 'redis', 'kafka', 's3'].map((d) => `networkPolicy.dependencies.${d}.cidrs={${nodeIp}/32}`),
    ];
    release = await timed('external install', () => install('external', values.flatMap((v) => ['--set', v])));
    // The pre-install hook migrated before any service started, and the services do not migrate themselves.
    await expectMigrationsCompleted(release);
    const metadata = await cluster.json(['get', 'deployment', '-n', release.namespace, `${release.name}-ocireg-metadata`]);
    expect(metadata.spec.template.spec.containers[0].env.find((e: any) => e.name === 'MIGRATE_ON_START').value).toBe('false');
    const pods = await cluster.waitAllReady(release.namespace, 5 * MINUTE);
    expect(new Set(pods.map((pod) => pod.metadata.labels['app.kubernetes.io/component']))).toEqual(new Set(SERVICES));
    const workspace = await workspaceOf(release);
    const digest = await timed('external push and pull', () => pushAndPull(release, workspace, 'app/world:1'));
    await eventuallyListed(release, workspace, 'app/world', digest);
  }, 20 * MINUTE);

  it('uninstalls without leaving anything behind', async () => {
    await timed('external uninstall', () => cluster.helm(['uninstall', release.name, '-n', release.namespace, '--wait', '--timeout', '5m']));
    await cluster.kubectl(['delete', 'secret', 'ocireg-bootstrap', '-n', release.namespace]);
    await retryUntil(async () => leftovers(release.namespace), (left) => left.length === 0, 2 * MINUTE);
    await cluster.kubectl(['delete', 'namespace', release.namespace]);
    await kafka?.stop();
  }, 10 * MINUTE);
});

/** The hook Job is deleted once it succeeded (hook-delete-policy); its Completed event stays. */
async function expectMigrationsCompleted(release: Release): Promise<void> {
  const events = (await cluster.json(['get', 'events', '-n', release.namespace, '--field-selector', `involvedObject.kind=Job,involvedObject.name=${release.name}-ocireg-migrations`])).items;
  expect(events.map((e: any) => e.reason)).toContain('Completed');
}

async function retry<T>(step: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await step();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(2000);
    }
  }
}

async function retryUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      expect(value).toEqual([]);
      return value;
    }
    await sleep(1000);
  }
}

describe('the local cluster', () => {
  it('goes down leaving the host as it found it: no bridge, iptables rules, network namespaces, cgroups or processes', async () => {
    await LocalCluster.script('down');
    await expect(sh('ip', ['link', 'show', 'ocik0'])).rejects.toThrow();
    const rules = (await sh('iptables-save', [])).split('\n').filter((line) => /KUBE|OCIREG/.test(line));
    expect(rules).toEqual([]);
    const netns = (await sh('ip', ['netns', 'list'])).split('\n').filter((line) => line.startsWith('cni-'));
    expect(netns).toEqual([]);
    expect(existsSync('/sys/fs/cgroup/memory/kubepods') || existsSync('/sys/fs/cgroup/kubepods')).toBe(false);
    expect(existsSync(clusterDir)).toBe(false);
  }, 5 * MINUTE);
});
