import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin } from '@ocireg/proto';
import { createDatabase, freePort, REPO_ROOT } from '@ocireg/testenv';
import { importRandomImage } from './images';
import { adminPortClient, basicAuth, loginNewWorkspace, newWorkspace, run, startTestRegistry } from './helpers';
import { OciHttp } from './oci-http';
import { eventually } from './polling';

interface ListedImage {
  name: string;
  repository: string;
  tagCount: number;
  manifestCount: number;
  totalSize: number;
  lastDigest: string;
}
interface ListedManifest {
  digest: string;
  kind: string;
  tags: string[];
  platforms: Array<{ os: string; architecture: string; variant: string }>;
  children: ListedManifest[];
  subject: string;
  created: string;
  layers: unknown[];
}

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

describe('listings: the JSON listing API and the admin API serve the indexer read model', () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry({ OUTBOX_POLL_MS: '20' });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('lists a docker-pushed image within a second, with tag, platform, created time and layers, to members only', async () => {
    const workspace = await loginNewWorkspace(registry);
    const api = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    const reference = `${registry.registryHost}/${workspace.slug}/tools/cli:1.0`;
    await importRandomImage(reference, 8 * 1024);
    await run('docker', ['push', reference]);
    const pushedAt = Date.now();
    const listed = await eventually(async () => {
      const { body } = await api.getJson<{ images: ListedImage[] }>(`/api/v1/workspaces/${workspace.slug}/images`);
      return body.images.find((image) => image.name === 'tools/cli' && image.tagCount === 1);
    }, 10_000);
    console.log(`JSON listing shows the docker push after ${Date.now() - pushedAt} ms`);
    expect(listed).toMatchObject({ fullName: `${workspace.slug}/tools/cli`, manifestCount: 1 });
    expect(listed.totalSize).toBeGreaterThan(8 * 1024 * 0.5);

    const details = await api.getJson<{ tags: Array<{ tag: string; kind: string }>; manifests: ListedManifest[] }>(`/api/v1/workspaces/${workspace.slug}/images/tools/cli`);
    expect(details.status).toBe(200);
    expect(details.body.tags).toEqual([expect.objectContaining({ tag: '1.0', kind: 'image' })]);
    const [manifest] = details.body.manifests;
    expect(manifest).toMatchObject({ kind: 'image', tags: ['1.0'], platforms: [{ os: 'linux', architecture: expect.any(String) }] });
    expect(Date.parse(manifest!.created)).not.toBeNaN();
    expect(manifest!.layers).toHaveLength(1);
    const tag = await api.getJson<{ manifest: { digest: string } }>(`/api/v1/workspaces/${workspace.slug}/images/tools/cli/-/tags/1.0`);
    expect(tag.body.manifest.digest).toBe(listed.lastDigest);

    // No credentials: a challenge; another workspace's admin: the workspace does not exist for them; bad input: an OCI error.
    const anonymous = await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${workspace.slug}/images`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    const stranger = new OciHttp(registry.gatewayUrl, basicAuth((await newWorkspace(registry)).admin));
    const hidden = await stranger.getJson<{ errors: Array<{ code: string }> }>(`/api/v1/workspaces/${workspace.slug}/images`);
    expect(hidden.status).toBe(404);
    expect(hidden.body.errors[0]?.code).toBe('NAME_UNKNOWN');
    const badSort = await api.getJson<{ errors: Array<{ code: string; message: string }> }>(`/api/v1/workspaces/${workspace.slug}/images?sort=size`);
    expect(badSort.status).toBe(400);
    expect(badSort.body.errors[0]?.message).toMatch(/sort must be one of/);
    const badToken = await api.getJson<{ errors: Array<{ code: string }> }>(`/api/v1/workspaces/${workspace.slug}/images?page_token=forged`);
    expect(badToken.status).toBe(400);
  });

  it('groups a multi-arch index under its tag with platforms, labels attestations and signatures, sorts and filters', async () => {
    const workspace = await newWorkspace(registry);
    const api = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    const repository = `${workspace.slug}/server`;
    const amd64 = await api.pushImage(repository, 'amd64-only', { os: 'linux', architecture: 'amd64' }, '2026-01-01T00:00:00Z');
    const arm64 = await api.pushImage(repository, 'arm64-only', { os: 'linux', architecture: 'arm64', variant: 'v8' } as { os: string; architecture: string });
    const statement = await api.pushBlob(repository, Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}'), 'application/vnd.in-toto+json');
    const emptyConfig = await api.pushBlob(repository, Buffer.from('{}'), 'application/vnd.oci.image.config.v1+json');
    const attestation = await api.pushManifest(repository, `sha256-att-${randomBytes(3).toString('hex')}`, { schemaVersion: 2, mediaType: MANIFEST, config: emptyConfig, layers: [statement] } as { mediaType: string });
    const index = await api.pushManifest(repository, 'v1', {
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [
        { ...amd64.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm64.manifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { ...attestation, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd64.manifest.digest } },
      ],
    } as { mediaType: string });
    const signatureBlob = await api.pushBlob(repository, Buffer.from('signature'), 'application/jose+json');
    const empty = await api.pushBlob(repository, Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    const signature = await api.pushManifest(repository, `sig-${randomBytes(3).toString('hex')}`, { schemaVersion: 2, mediaType: MANIFEST, artifactType: 'application/vnd.cncf.notary.signature', config: empty, layers: [signatureBlob], subject: index } as { mediaType: string });
    await api.pushImage(`${workspace.slug}/alpha`, 'latest');

    const details = await eventually(async () => {
      const { status, body } = await api.getJson<{ manifests: ListedManifest[] }>(`/api/v1/workspaces/${workspace.slug}/images/server`);
      return status === 200 && body.manifests.some((m) => m.digest === signature.digest) ? body : undefined;
    }, 10_000);
    const listedIndex = details.manifests.find((m) => m.digest === index.digest)!;
    expect(listedIndex).toMatchObject({ kind: 'index', tags: ['v1'] });
    expect(listedIndex.platforms).toEqual([
      { os: 'linux', architecture: 'amd64', variant: '' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    expect(listedIndex.children.map((child) => child.kind)).toEqual(['image', 'image', 'attestation']);
    expect(listedIndex.children[0]!.created).toBe('2026-01-01T00:00:00.000Z');
    expect(details.manifests.find((m) => m.digest === signature.digest)).toMatchObject({ kind: 'signature', subject: index.digest });
    expect(details.manifests.some((m) => m.platforms.some((p) => p.os === 'unknown'))).toBe(false);

    const names = async (query: string) => (await api.getJson<{ images: ListedImage[] }>(`/api/v1/workspaces/${workspace.slug}/images${query}`)).body.images.map((i) => i.name);
    await eventually(async () => ((await names('')).length === 2 ? true : undefined), 10_000);
    expect(await names('?sort=name')).toEqual(['alpha', 'server']);
    expect(await names('?sort=last_pushed')).toEqual(['alpha', 'server']);
    expect(await names('?prefix=se')).toEqual(['server']);
    const firstPage = await api.getJson<{ images: ListedImage[]; nextPageToken: string }>(`/api/v1/workspaces/${workspace.slug}/images?page_size=1`);
    const secondPage = await api.getJson<{ images: ListedImage[]; nextPageToken: string }>(`/api/v1/workspaces/${workspace.slug}/images?page_size=1&page_token=${firstPage.body.nextPageToken}`);
    expect([...firstPage.body.images, ...secondPage.body.images].map((i) => i.name)).toEqual(['alpha', 'server']);

    // The admin API answers from the same read model.
    const adminClient = adminPortClient(registry, admin.AdminServiceClient);
    try {
      const auth = { authorization: registry.operator.authorization };
      const listing = await unaryCall(adminClient.listImages.bind(adminClient), { workspaceSlug: workspace.slug, projectSlug: '', sourceRepositoryId: '', namePrefix: 'se', sort: admin.ImageSort.IMAGE_SORT_LAST_PUSHED, pageSize: 10, pageToken: '' }, auth);
      expect(listing.images.map((i) => [i.name, i.sourceRepositoryId])).toEqual([['server', workspace.sourceRepositoryId]]);
      const image = await unaryCall(adminClient.getImage.bind(adminClient), { workspaceSlug: workspace.slug, name: 'server' }, auth);
      expect(image.manifests.find((m) => m.digest === index.digest)?.children.map((c) => c.kind)).toEqual(['image', 'image', 'attestation']);
    } finally {
      adminClient.close();
    }
  });
});

/** The listing rows of one workspace, comparable across databases. */
async function dumpWorkspace(databaseUrl: string, workspace: string): Promise<unknown[]> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const tables = ['idx_packages', 'idx_manifests', 'idx_tags', 'idx_images'];
    return await Promise.all(tables.map(async (table) => (await pool.query(`SELECT * FROM ${table} WHERE repository LIKE $1 ORDER BY 1, 2`, [`${workspace}/%`])).rows));
  } finally {
    await pool.end();
  }
}

/** Runs a service's script (the indexer, its rebuild command) as its own process; resolves with its exit code. */
function runNode(script: string, env: Record<string, string>, logName: string): { exited: Promise<number>; kill: () => void } {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, script)], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => log.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => log.push(chunk));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  void exited.then((code) => {
    if (code !== 0 && code !== -1) console.log(`${logName} exited ${code}:\n${Buffer.concat(log).toString('utf8').slice(-2000)}`);
  });
  return { exited, kill: () => child.kill('SIGKILL') };
}

describe('indexer recovery: a killed indexer, a rebuild and a replay all give the same read model', () => {
  let registry: RunningRegistry;
  let databaseUrl: string;

  beforeAll(async () => {
    // Its own database (a rebuild truncates) and consumer group (a replay starts from offset 0).
    databaseUrl = await createDatabase(process.env.DATABASE_URL!, 'recovery');
    registry = await startTestRegistry({ DATABASE_URL: databaseUrl, KAFKA_GROUP_ID: `recovery-${randomBytes(4).toString('hex')}`, OUTBOX_POLL_MS: '20' });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('kill -9 mid-batch, restart: equals a fresh rebuild from metadata and a replay of the topic from offset 0', async () => {
    const workspace = await newWorkspace(registry);
    const api = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    const images = 25;
    const tagsPerImage = 8;

    // A backlog while the indexer is down, so it restarts into a big batch: pushes, tags, a moved tag, a deleted tag.
    process.kill(registry.pid('indexer')!, 'SIGKILL');
    const pushed = [];
    for (let i = 0; i < images; i++) {
      const image = await api.pushImage(`${workspace.slug}/app-${i}`, 'v0');
      for (let t = 1; t < tagsPerImage; t++) await api.pushManifest(`${workspace.slug}/app-${i}`, `v${t}`, image.document);
      pushed.push(image);
    }
    for (const blob of [pushed[1]!.config, pushed[1]!.layer]) await api.mountBlob(`${workspace.slug}/app-1`, `${workspace.slug}/app-0`, blob.digest);
    await api.pushManifest(`${workspace.slug}/app-0`, 'v1', pushed[1]!.document);
    await api.deleteManifest(`${workspace.slug}/app-2`, 'v3');

    // ...and is killed again while it works through it.
    await registry.restart('indexer');
    const indexedTags = async () => {
      const pool = new Pool({ connectionString: databaseUrl, max: 1 });
      try {
        return Number((await pool.query('SELECT count(*) AS n FROM idx_tags WHERE repository LIKE $1', [`${workspace.slug}/%`])).rows[0].n);
      } finally {
        await pool.end();
      }
    };
    // Mid-batch: the indexer's transaction has written rows and not committed yet.
    const monitor = new Pool({ connectionString: databaseUrl, max: 1 });
    try {
      await eventually(async () => {
        const { rowCount } = await monitor.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid() AND query ILIKE '%idx_%'");
        return rowCount ? true : undefined;
      }, 30_000, 2);
    } finally {
      await monitor.end();
    }
    process.kill(registry.pid('indexer')!, 'SIGKILL');
    console.log(`indexer killed in an open batch transaction, with ${await indexedTags()} of ${images * tagsPerImage - 1} tags committed`);
    await registry.restart('indexer');
    await eventually(async () => ((await indexedTags()) === images * tagsPerImage - 1 ? true : undefined), 60_000, 50);
    // Events after the last tag (none here) would still be in flight; give the consumer a moment to go idle.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const live = await dumpWorkspace(databaseUrl, workspace.slug);

    const rebuiltUrl = await createDatabase(process.env.DATABASE_URL!, 'rebuilt');
    const rebuild = runNode('services/indexer/dist/rebuild-cli.js', { DATABASE_URL: rebuiltUrl, METADATA_ADDR: registry.grpcAddresses.metadata, INTERNAL_TLS_DIR: registry.tlsDir('indexer'), LOG_LEVEL: 'warn' }, 'rebuild');
    expect(await rebuild.exited).toBe(0);
    expect(await dumpWorkspace(rebuiltUrl, workspace.slug)).toEqual(live);

    const replayUrl = await createDatabase(process.env.DATABASE_URL!, 'replayed');
    const replay = runNode(
      'services/indexer/dist/main.js',
      { DATABASE_URL: replayUrl, KAFKA_BROKERS: process.env.KAFKA_BROKERS!, KAFKA_GROUP_ID: `replay-${randomBytes(4).toString('hex')}`, GRPC_HOST: '127.0.0.1', GRPC_PORT: String(await freePort()), METRICS_PORT: String(await freePort()), INTERNAL_TLS_DIR: registry.tlsDir('indexer'), LOG_LEVEL: 'warn' },
      'replaying indexer',
    );
    try {
      const expected = JSON.stringify(live);
      await eventually(async () => (JSON.stringify(await dumpWorkspace(replayUrl, workspace.slug).catch(() => [])) === expected ? true : undefined), 90_000, 250);
    } finally {
      replay.kill();
    }
    expect(await dumpWorkspace(replayUrl, workspace.slug)).toEqual(live);
  });

  it('exports consumer lag and the age of the oldest unindexed event while the indexer is held up, both back to 0 after', async () => {
    const workspace = await newWorkspace(registry);
    const api = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    const metric = async (name: string) => {
      const text = await (await fetch(registry.metricsUrl('indexer'))).text();
      const value = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1];
      if (value === undefined) throw new Error(`${name} is not exported`);
      return Number(value);
    };
    const { document } = await api.pushImage(`${workspace.slug}/held`, 'v0');
    await eventually(async () => ((await metric('indexer_consumer_lag_messages')) === 0 ? true : undefined), 60_000, 100);
    expect(await metric('indexer_oldest_unindexed_event_age_seconds')).toBe(0);

    // Hold the read model: the indexer's next batch waits on the lock, as it would on a slow database.
    const holder = new Pool({ connectionString: databaseUrl, max: 1 });
    const client = await holder.connect();
    try {
      await client.query('BEGIN');
      await client.query('LOCK TABLE idx_images IN ACCESS EXCLUSIVE MODE');
      await api.pushManifest(`${workspace.slug}/held`, 'v1', document);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await metric('indexer_consumer_lag_messages')).toBeGreaterThanOrEqual(1);
      expect(await metric('indexer_oldest_unindexed_event_age_seconds')).toBeGreaterThanOrEqual(1.5);
    } finally {
      await client.query('ROLLBACK');
      client.release();
      await holder.end();
    }
    await eventually(async () => ((await metric('indexer_consumer_lag_messages')) === 0 && (await metric('indexer_oldest_unindexed_event_age_seconds')) === 0 ? true : undefined), 30_000, 100);
  });
});
