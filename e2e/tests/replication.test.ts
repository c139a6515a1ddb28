import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type RunningRegistry } from '@ocireg/devstack';
import { webApi } from '@ocireg/web-api';
import { importRandomImage } from './images';
import { OciHttp } from './oci-http';
import { pollUntil } from './polling';
import { basicAuth, newWorkspace, recordSecret, run, startTestRegistry, tempDir, type TestWorkspace } from './helpers';
import { startUpstreamRegistry, type UpstreamRegistry } from './upstream-registry';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
const INDEX = 'application/vnd.oci.image.index.v1+json';
const IMAGE = 'application/vnd.oci.image.manifest.v1+json';

interface Job {
  id: string;
  repository: string;
  destinationRepository: string;
  tag: string;
  digest: string;
  state: string;
  attempts: number;
  lastError: string;
}

describe('replication: new tags pushed to a CNCF Distribution with htpasswd auth', () => {
  let target: UpstreamRegistry;
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let oci: OciHttp;
  let ctl: (args: string[], input?: string) => Promise<Record<string, any>>;
  /** GET on the target, with its credentials. */
  const onTarget = (what: string, accept = `${INDEX}, ${IMAGE}`, method = 'GET') => fetch(`${target.url}/v2/${what}`, { method, headers: { Authorization: target.authorization, Accept: accept } });
  const jobs = async (): Promise<Job[]> => (await ctl(['replication', 'status', workspace.slug, 'backup'])).jobs ?? [];
  const jobOf = async (tag: string, digest: string) => (await jobs()).find((j) => j.tag === tag && j.digest === digest);
  const untilState = (tag: string, digest: string, done: (job: Job | undefined) => boolean, timeoutMs = 90_000) => pollUntil(() => jobOf(tag, digest), done, timeoutMs, 500);

  beforeAll(async () => {
    target = await startUpstreamRegistry(tempDir('replication-target'));
    recordSecret(target.password);
    // The target runs on loopback, which an operator must allow; retries come quickly here.
    registry = await startTestRegistry({
      REPLICATION_ALLOWED_CIDRS: '127.0.0.0/8',
      REPLICATION_POLL_SECONDS: '0.5',
      REPLICATION_TIMEOUT_SECONDS: '10',
      REPLICATION_RETRY_BASE_SECONDS: '1',
      REPLICATION_RETRY_MAX_SECONDS: '2',
      REPLICATION_MAX_ATTEMPTS: '6',
    });
    workspace = await newWorkspace(registry, 'repl');
    oci = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    ctl = async (args, input) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, ...args], input === undefined ? {} : { input }));
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    await target?.stop();
  });

  it('registryctl creates a target; its password is stored sealed and never shown; only workspace admins change targets', async () => {
    const created = await ctl(['replication', 'create', workspace.slug, 'backup', target.url, '--packages', '*', '--prefix', 'copy', '--username', target.username, '--password-stdin'], `${target.password}\n`);
    expect(created.target).toMatchObject({ name: 'backup', url: target.url, username: target.username, hasPassword: true, packagePattern: '*', destinationPrefix: 'copy', enabled: true });
    const listed = await ctl(['replication', 'list', workspace.slug]);
    expect(listed.targets.map((t: { name: string }) => t.name)).toEqual(['backup']);
    expect(JSON.stringify(listed)).not.toContain(target.password);
    // The repository's Admin is no workspace admin: refused.
    await expect(
      run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', workspace.admin.token, 'replication', 'create', workspace.slug, 'other', target.url]),
    ).rejects.toThrow(/DENIED/);
    // A private address the operator did not allow is refused at push time, not here; a bad URL is refused now.
    await expect(ctl(['replication', 'create', workspace.slug, 'bad', 'ftp://example.test'])).rejects.toThrow(/url/);
  });

  it('docker push: the tag appears on the target with the same digest', async () => {
    const reference = `${registry.registryHost}/${workspace.slug}/app:v1`;
    // 16 MiB of random bytes: the layer streams from storage to the target in one PUT.
    await importRandomImage(reference, 16 * 1024 * 1024);
    await run('docker', ['login', registry.registryHost, '--username', workspace.admin.email, '--password-stdin'], { input: workspace.admin.token });
    await run('docker', ['push', reference]);
    const ours = await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/app/manifests/v1`, { method: 'HEAD', headers: { Authorization: basicAuth(workspace.admin), Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
    const digest = ours.headers.get('docker-content-digest')!;
    const job = await untilState('v1', digest, (j) => j?.state === 'succeeded');
    expect(job).toMatchObject({ state: 'succeeded', repository: `${workspace.slug}/app`, destinationRepository: 'copy/app', attempts: 1 });
    // JSON leaves an empty last error out.
    expect(job?.lastError ?? '').toBe('');
    const copied = await onTarget('copy/app/manifests/v1', 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json');
    expect(copied.status).toBe(200);
    expect(copied.headers.get('docker-content-digest')).toBe(digest);
    // Every blob is there with its size (the 16 MiB layer streamed whole).
    const document = (await copied.json()) as { config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> };
    for (const blob of [document.config, ...document.layers]) {
      const head = await onTarget(`copy/app/blobs/${blob.digest}`, '*/*', 'HEAD');
      expect(head.status).toBe(200);
      expect(Number(head.headers.get('content-length'))).toBe(blob.size);
    }
    expect(Math.max(...document.layers.map((l) => l.size))).toBeGreaterThan(16 * 1024 * 1024);
    // skopeo, a real client, sees the same digest on the target.
    const inspected = JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', '--creds', `${target.username}:${target.password}`, `docker://${target.host}/copy/app:v1`]));
    expect(inspected.Digest).toBe(digest);
  });

  it('a multi-layer image and an OCI index of two images replicate byte for byte', async () => {
    const name = `${workspace.slug}/multi`;
    const children: Array<{ digest: string; size: number; mediaType: string; content: Buffer; blobs: string[] }> = [];
    for (const architecture of ['amd64', 'arm64']) {
      const config = await oci.pushBlob(name, Buffer.from(JSON.stringify({ os: 'linux', architecture, rootfs: { type: 'layers', diff_ids: [] } })), 'application/vnd.oci.image.config.v1+json');
      const layers = [];
      for (let i = 0; i < 3; i++) layers.push(await oci.pushBlob(name, randomBytes(64 * 1024 + i), 'application/vnd.oci.image.layer.v1.tar+gzip'));
      const document = { schemaVersion: 2, mediaType: IMAGE, config, layers };
      const manifest = await oci.pushManifest(name, `${architecture}-only`, document);
      children.push({ ...manifest, content: Buffer.from(JSON.stringify(document)), blobs: [config.digest, ...layers.map((l) => l.digest)] });
    }
    const index = { schemaVersion: 2, mediaType: INDEX, manifests: children.map((c, i) => ({ mediaType: IMAGE, digest: c.digest, size: c.size, platform: { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' } })) };
    const pushed = await oci.pushManifest(name, 'multi', index);
    await untilState('multi', pushed.digest, (j) => j?.state === 'succeeded');
    const copied = await onTarget('copy/multi/manifests/multi', INDEX);
    expect(copied.status).toBe(200);
    expect(copied.headers.get('docker-content-digest')).toBe(pushed.digest);
    expect(Buffer.from(await copied.arrayBuffer()).equals(Buffer.from(JSON.stringify(index)))).toBe(true);
    for (const child of children) {
      const got = await onTarget(`copy/multi/manifests/${child.digest}`, IMAGE);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(child.content)).toBe(true);
      for (const blob of child.blobs) expect((await onTarget(`copy/multi/blobs/${blob}`, '*/*', 'HEAD')).status).toBe(200);
    }
    // The single-image tags went too (each multi-layer).
    expect((await onTarget('copy/multi/manifests/amd64-only', IMAGE)).headers.get('docker-content-digest')).toBe(children[0]!.digest);
  });

  it('retries while the target is down (the status shows why), and succeeds once it is back', async () => {
    await target.stop();
    const { manifest } = await oci.pushImage(`${workspace.slug}/app`, 'v2');
    const failing = await untilState('v2', manifest.digest, (j) => (j?.attempts ?? 0) >= 2 && (j?.lastError ?? '') !== '');
    expect(failing).toMatchObject({ state: expect.stringMatching(/^(pending|running)$/) });
    expect(failing!.lastError).toMatch(/could not be reached|ECONNREFUSED/);
    const listed = await ctl(['replication', 'get', workspace.slug, 'backup']);
    expect(listed.target.counts.pending).toBeGreaterThanOrEqual(1);
    await target.start();
    const done = await untilState('v2', manifest.digest, (j) => j?.state === 'succeeded');
    expect(done!.attempts).toBeGreaterThanOrEqual(3);
    expect((await onTarget('copy/app/manifests/v2', IMAGE)).headers.get('docker-content-digest')).toBe(manifest.digest);
  });

  it('a newer push of the tag supersedes a waiting job; a succeeded job is not retried by hand', async () => {
    await target.stop();
    const first = await oci.pushImage(`${workspace.slug}/app`, 'v3');
    await untilState('v3', first.manifest.digest, (j) => (j?.attempts ?? 0) >= 1 && j?.state === 'pending');
    const second = await oci.pushImage(`${workspace.slug}/app`, 'v3');
    // The first waits (pending, not running) or runs; once it is not running, the newer push supersedes it.
    await target.start();
    await untilState('v3', second.manifest.digest, (j) => j?.state === 'succeeded');
    expect((await onTarget('copy/app/manifests/v3', IMAGE)).headers.get('docker-content-digest')).toBe(second.manifest.digest);
    const older = await jobOf('v3', first.manifest.digest);
    expect(older?.state).toMatch(/^(superseded|succeeded)$/);
    // Retry by hand: a job that already succeeded is refused, with the reason.
    const succeeded = (await jobOf('v3', second.manifest.digest))!;
    await expect(ctl(['replication', 'retry', workspace.slug, 'backup', succeeded.id])).rejects.toThrow(/only failed or pending/);
  });

  it('a target on an address the operator did not allow is refused; the job fails at the attempt limit; a manual retry runs it again', async () => {
    // ::1 is loopback, and only 127.0.0.0/8 is allowed: the guard refuses it before connecting.
    await ctl(['replication', 'create', workspace.slug, 'refused', 'http://[::1]:9', '--packages', 'refused-*']);
    const { manifest } = await oci.pushImage(`${workspace.slug}/refused-app`, 'v1');
    const status = () => ctl(['replication', 'status', workspace.slug, 'refused']).then((r) => (r.jobs ?? []) as Job[]);
    const failed = await pollUntil(status, (list) => list[0]?.state === 'failed', 90_000, 500);
    expect(failed[0]).toMatchObject({ tag: 'v1', digest: manifest.digest, attempts: 6 });
    expect(failed[0]!.lastError).toMatch(/REPLICATION_ALLOWED_CIDRS/);
    expect((await ctl(['replication', 'get', workspace.slug, 'refused'])).target.counts).toMatchObject({ failed: 1 });
    const retried = await ctl(['replication', 'retry', workspace.slug, 'refused', failed[0]!.id]);
    expect(retried.job).toMatchObject({ state: 'pending' });
    expect(retried.job.attempts ?? 0).toBe(0);
    // Tried again from a fresh count of attempts.
    const again = await pollUntil(status, (list) => (list[0]?.attempts ?? 0) >= 1 && list[0]?.state !== 'running', 60_000, 300);
    expect(again[0]).toMatchObject({ id: failed[0]!.id, lastError: expect.stringMatching(/REPLICATION_ALLOWED_CIDRS/) });
    await ctl(['replication', 'delete', workspace.slug, 'refused']);
    await expect(ctl(['replication', 'status', workspace.slug, 'refused'])).rejects.toThrow(/NOT_FOUND|does not exist/);
  });

  it('the JSON API lists targets and jobs without passwords; only workspace admins change or retry', async () => {
    const api = (authorization: string, method: string, what: string, body?: unknown) =>
      fetch(`${registry.gatewayUrl}/api/v1/workspaces/${workspace.slug}/${what}`, {
        method,
        headers: { Authorization: authorization, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const listed = await api(basicAuth(workspace.admin), 'GET', 'replication-targets');
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).not.toContain(target.password);
    expect(webApi.listReplicationTargets.response.parse(JSON.parse(text)).targets).toEqual([expect.objectContaining({ name: 'backup', hasPassword: true, destinationPrefix: 'copy' })]);
    const jobsAnswer = await api(basicAuth(workspace.admin), 'GET', 'replication-targets/backup/jobs?state=succeeded&limit=5');
    const parsed = webApi.listReplications.response.parse(await jobsAnswer.json());
    expect(parsed.jobs.length).toBeGreaterThan(0);
    expect(parsed.jobs.every((j) => j.state === 'succeeded')).toBe(true);
    expect((await api(basicAuth(workspace.admin), 'GET', 'replication-targets/backup/jobs?state=bogus')).status).toBe(400);
    // The repository's Admin is no workspace admin.
    const other = { name: 'other', url: 'https://mirror.example.test', packagePattern: '*' };
    expect((await api(basicAuth(workspace.admin), 'POST', 'replication-targets', other)).status).toBe(403);
    expect((await api(basicAuth(workspace.admin), 'POST', `replication-targets/backup/jobs/${parsed.jobs[0]!.id}/retry`)).status).toBe(403);
    expect((await api(registry.operator.authorization, 'POST', 'replication-targets', other)).status).toBe(201);
    const bad = await api(registry.operator.authorization, 'POST', 'replication-targets', { ...other, name: 'bad', packagePattern: 'A[' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: unknown[] }).errors[0]).toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'package_pattern' } });
    expect((await api(registry.operator.authorization, 'DELETE', 'replication-targets/other')).status).toBe(200);
    expect((await api(registry.operator.authorization, 'DELETE', 'replication-targets/other')).status).toBe(404);
  });

  it("the target's password is in no service log", () => {
    const logDir = path.dirname(registry.logFile('gateway'));
    for (const file of readdirSync(logDir).filter((f) => f.endsWith('.log'))) {
      expect(readFileSync(path.join(logDir, file), 'utf8'), file).not.toContain(target.password);
    }
    // The gateway did push (and logged that it did, without the password).
    expect(readFileSync(registry.logFile('gateway'), 'utf8')).toContain('"msg":"replicated"');
  });
});
