// Webhooks end to end (docs/webhooks.md): a real HTTP receiver checks the
// signature of every delivery; many pushes give one delivery each; a receiver
// stopped then started gets its deliveries after backoff with the failures in
// the log; a hanging receiver does not slow pushes (measured); SSRF attempts
// are refused without the operator's allowlist; rotation, redelivery, ping,
// auto-disable, who may manage hooks, and the audit log of their changes.
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, REPO_ROOT, type RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, webhooks } from '@ocireg/proto';
import { adminPortClient, basicAuth, newWorkspace, recordSecret, run, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';
import { pollUntil } from './polling';
import { accessibilityViolations, launchChromium } from './browser';
import { WebClient, webUser } from './web-client';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');
/** The receiver listens on 127.0.0.2, the one address the operator allows (WEBHOOK_ALLOWED_CIDRS); 127.0.0.1 stays refused. */
const RECEIVER_HOST = '127.0.0.2';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/** A webhook receiver: records every request; /ok answers 200, /fail 500, /hang never, /redirect points at the inside server. */
class Receiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  port = 0;
  /** Where /redirect points. */
  redirectTo = '';
  constructor(private readonly host: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.port, this.host, resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
    this.server = undefined;
  }

  url(route: string): string {
    return `http://${this.host}:${this.port}${route}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      if (req.url?.startsWith('/hang')) return; // never answers
      if (req.url?.startsWith('/fail')) return void res.writeHead(500).end('receiver is broken');
      if (req.url?.startsWith('/redirect')) return void res.writeHead(302, { location: this.redirectTo }).end();
      res.writeHead(200).end('ok');
    });
  }
}

/** The receiver's check of `X-Ocireg-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`: some v1 is HMAC-SHA256(secret, "<t>.<body>"). */
function signedBy(request: Received, secret: string): boolean {
  const header = String(request.headers['x-ocireg-signature'] ?? '');
  const parts = header.split(',').map((p) => p.split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  // Fresh when it arrived (a receiver checks on receipt; the test reads them later, after many more pushes).
  if (!t || Math.abs(request.at / 1000 - Number(t)) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${request.body}`).digest('hex');
  return parts.some(([k, v]) => k === 'v1' && v === expected);
}

const eventOf = (request: Received) => JSON.parse(request.body) as { id: string; type: string; specversion: string; source: string; subject: string; data: { digest?: string; tag?: string; package: string } };

describe('webhooks', () => {
  let registry: RunningRegistry;
  const receiver = new Receiver(RECEIVER_HOST);
  const inside = new Receiver('127.0.0.1');
  let ws: TestWorkspace;
  let oci: OciHttp;
  let ctl: (...args: string[]) => Promise<Record<string, any>>;
  let op: (...args: string[]) => Promise<Record<string, any>>;
  let hook: { id: string; secret: string };
  let blobs: { config: { mediaType: string; digest: string; size: number }; layer: { mediaType: string; digest: string; size: number } };

  const ctlAs = (token: string) => async (...args: string[]) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', token, ...args])) as Record<string, any>;
  const pushManifest = (repository: string, tag: string) =>
    oci.pushManifest(repository, tag, { mediaType: 'application/vnd.oci.image.manifest.v1+json', schemaVersion: 2, config: blobs.config, layers: [blobs.layer], annotations: { n: randomBytes(8).toString('hex') } } as { mediaType: string });
  const deliveries = async (hookId: string) => (await ctl('webhook', 'deliveries', hookId, '--limit', '100')).deliveries as Array<{ id: string; eventId: string; state: string; attempts?: number; attemptLog?: Array<{ statusCode?: number; error?: string; responseHead?: string; latencyMs?: number }> }>;

  beforeAll(async () => {
    await inside.start();
    await receiver.start();
    receiver.redirectTo = inside.url('/stolen');
    registry = await startTestRegistry({
      WEBHOOK_ALLOWED_CIDRS: `${RECEIVER_HOST}/32`,
      WEBHOOK_RETRY_BASE_MS: '300',
      WEBHOOK_POLL_MS: '100',
      WEBHOOK_TIMEOUT_MS: '4000',
      WEBHOOK_DISABLE_AFTER_FAILURES: '40',
    });
    ws = await newWorkspace(registry, 'hooks');
    // Hooks are the workspace admins' (and operators').
    const client = adminPortClient(registry, admin.AdminServiceClient);
    await unaryCall(client.addWorkspaceAdmin.bind(client), { workspaceSlug: ws.slug, userId: ws.admin.userId }, { authorization: registry.operator.authorization }).finally(() => client.close());
    ctl = ctlAs(ws.admin.token);
    op = ctlAs(registry.operator.token);
    oci = new OciHttp(registry.gatewayUrl, basicAuth(ws.admin));
    const config = await oci.pushBlob(`${ws.slug}/app`, Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'), 'application/vnd.oci.image.config.v1+json');
    const layer = await oci.pushBlob(`${ws.slug}/app`, randomBytes(1024), 'application/vnd.oci.image.layer.v1.tar+gzip');
    blobs = { config, layer };
  });

  afterAll(async () => {
    await registry?.stop();
    await receiver.stop();
    await inside.stop();
  });

  it('delivers one signed CloudEvent per push, 1,000 pushes, each signature verified by the receiver', { timeout: 900_000 }, async () => {
    const created = await ctl('webhook', 'create', ws.slug, receiver.url('/ok'), '--events', 'image.pushed', '--packages', 'app');
    expect(created.secret).toMatch(/^whsec_/);
    recordSecret(created.secret);
    hook = { id: created.webhook.id, secret: created.secret };
    expect(created.webhook).toMatchObject({ workspaceSlug: ws.slug, url: receiver.url('/ok'), eventTypes: ['image.pushed'], packagePatterns: ['app'], enabled: true });
    // The secret is shown once: never again.
    expect(JSON.stringify(await ctl('webhook', 'get', hook.id))).not.toContain(created.secret);

    const pushes = 1000;
    const digests = new Set<string>();
    for (let i = 0; i < pushes; i += 10) {
      const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => pushManifest(`${ws.slug}/app`, `v${i + j}`)));
      for (const pushed of batch) digests.add(pushed.digest);
    }
    // Another package: the hook's pattern leaves it out.
    await oci.mountBlob(`${ws.slug}/app`, `${ws.slug}/other`, blobs.config.digest);
    await oci.mountBlob(`${ws.slug}/app`, `${ws.slug}/other`, blobs.layer.digest);
    await pushManifest(`${ws.slug}/other`, 'v1');
    const mine = () => receiver.received.filter((r) => r.path === '/ok');
    await pollUntil(async () => new Set(mine().map((r) => eventOf(r).id)).size, (n) => n >= pushes, 300_000, 250);
    const received = mine();
    for (const request of received) expect(signedBy(request, hook.secret), request.body.slice(0, 80)).toBe(true);
    expect(received.every((r) => String(r.headers['content-type']).startsWith('application/cloudevents+json'))).toBe(true);
    const events = received.map(eventOf);
    expect(new Set(events.map((e) => e.data.digest))).toEqual(digests);
    expect(events.every((e) => e.specversion === '1.0' && e.type === 'io.ocireg.image.pushed' && e.source === `/workspaces/${ws.slug}` && e.data.package === 'app')).toBe(true);
    // One delivery per push: any repeat carries the id of the one it repeats.
    expect(new Set(events.map((e) => e.id)).size).toBe(pushes);
    const byId = new Map<string, string>();
    for (const e of events) {
      if (byId.has(e.id)) expect(byId.get(e.id)).toBe(e.data.digest);
      byId.set(e.id, e.data.digest!);
    }
    // The log: each delivery succeeded (an attempt that timed out on a loaded machine was retried: the repeat above).
    const log = await pollUntil(async () => deliveries(hook.id), (d) => d.every((x) => x.state === 'succeeded'), 30_000, 500);
    expect(log.length).toBe(100);
    expect(log.every((d) => d.state === 'succeeded' && d.attemptLog?.at(-1)?.statusCode === 200 && d.attemptLog.at(-1)!.responseHead === 'ok' && (d.attemptLog.at(-1)!.latencyMs ?? 0) >= 0)).toBe(true);
  });

  it('retries with backoff while the receiver is down, and the log shows the failures', async () => {
    await receiver.stop();
    const pushed = await Promise.all([1, 2, 3].map((n) => pushManifest(`${ws.slug}/app`, `down-${n}`)));
    // The three newest deliveries are these pushes': each tried at least twice while nobody answered.
    await pollUntil(async () => (await deliveries(hook.id)).slice(0, 3), (d) => d.length === 3 && d.every((x) => (x.attempts ?? 0) >= 2), 30_000, 200);
    await receiver.start();
    await pollUntil(async () => receiver.received.filter((r) => pushed.some((p) => eventOf(r).data.digest === p.digest)).length, (n) => n >= 3, 30_000, 200);
    // The receiver answers before the worker records the answer: wait for the log to say so.
    const log = await pollUntil(async () => (await deliveries(hook.id)).slice(0, 3), (d) => d.every((x) => x.state === 'succeeded'), 30_000, 200);
    for (const d of log) {
      expect(d.state).toBe('succeeded');
      expect(d.attemptLog!.length).toBeGreaterThanOrEqual(3);
      expect(d.attemptLog!.slice(0, -1).every((a) => !a.statusCode && /ECONNREFUSED/.test(a.error ?? ''))).toBe(true);
      expect(d.attemptLog!.at(-1)).toMatchObject({ statusCode: 200 });
    }
  });

  it('a hanging receiver slows no push, and holds only its own hook (measured)', async () => {
    const time = async (repository: string, count: number) => {
      const took: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await pushManifest(repository, `t${i}-${randomBytes(2).toString('hex')}`);
        took.push(performance.now() - started);
      }
      return took.sort((a, b) => a - b)[Math.floor(count / 2)]!;
    };
    const baseline = await time(`${ws.slug}/app`, 15);
    const hanging = await ctl('webhook', 'create', ws.slug, receiver.url('/hang'));
    recordSecret(hanging.secret);
    const hangsBefore = receiver.received.filter((r) => r.path === '/hang').length;
    const withHang = await time(`${ws.slug}/app`, 15);
    // 30 deliveries (an image.pushed and a tag.moved per push), each held 4 s by the target: no more than 4 at once (WEBHOOK_CONCURRENCY_PER_HOOK).
    expect(receiver.received.filter((r) => r.path === '/hang').length - hangsBefore).toBeLessThanOrEqual(4);
    // The hanging target got its deliveries (and holds them), yet pushes took as long as before.
    await pollUntil(async () => receiver.received.filter((r) => r.path === '/hang').length - hangsBefore, (n) => n >= 1, 10_000, 100);
    expect(withHang, `median push ${withHang.toFixed(0)} ms with a hanging hook, ${baseline.toFixed(0)} ms without`).toBeLessThan(baseline * 2 + 100);
    // The other hook of the workspace still gets its events promptly.
    const sent = await pushManifest(`${ws.slug}/app`, 'beside-the-hang');
    await pollUntil(async () => receiver.received.some((r) => r.path === '/ok' && eventOf(r).data.digest === sent.digest), Boolean, 10_000, 100);
    await ctl('webhook', 'delete', hanging.webhook.id);
  });

  it('refuses loopback, link-local and names resolving inside without the allowlist, and follows no redirect', async () => {
    for (const [url, range] of [
      [inside.url('/'), 'loopback'],
      ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
      [`http://localhost:${inside.port}/`, 'loopback'],
      ['http://10.0.0.1/hook', 'private'],
    ] as const) {
      await expect(ctl('webhook', 'create', ws.slug, url), url).rejects.toThrow(new RegExp(`INVALID_ARGUMENT: url: .*${range}`));
    }
    const redirecting = await ctl('webhook', 'create', ws.slug, receiver.url('/redirect'));
    recordSecret(redirecting.secret);
    await ctl('webhook', 'ping', redirecting.webhook.id);
    const log = await pollUntil(async () => deliveries(redirecting.webhook.id), (d) => (d[0]?.attemptLog?.length ?? 0) > 0, 10_000, 100);
    expect(log[0]!.attemptLog![0]).toMatchObject({ statusCode: 302, error: expect.stringContaining('not followed') });
    expect(inside.received).toEqual([]);
    await ctl('webhook', 'delete', redirecting.webhook.id);
  });

  it('rotates the secret with overlap, redelivers with the same event id, pings', async () => {
    const rotated = await ctl('webhook', 'rotate-secret', hook.id, '--overlap-seconds', '600');
    recordSecret(rotated.secret);
    expect(rotated.webhook.previousSecretUntil).toBeTruthy();
    const ping = await ctl('webhook', 'ping', hook.id);
    // The ping queues behind what the hook still delivers of the 1,000 pushes: on a loaded machine that takes a while.
    const pinged = await pollUntil(async () => receiver.received.find((r) => r.path === '/ok' && eventOf(r).id === ping.delivery.eventId), Boolean, 60_000, 100);
    expect(eventOf(pinged!).type).toBe('io.ocireg.webhook.ping');
    // During the overlap both secrets verify; receivers switch over at their pace.
    expect(signedBy(pinged!, rotated.secret)).toBe(true);
    expect(signedBy(pinged!, hook.secret)).toBe(true);

    const first = (await deliveries(hook.id)).find((d) => d.state === 'succeeded' && d.eventId !== ping.delivery.eventId)!;
    const again = await ctl('webhook', 'redeliver', hook.id, first.id);
    expect(again.delivery.eventId).toBe(first.eventId);
    await pollUntil(async () => receiver.received.filter((r) => r.path === '/ok' && eventOf(r).id === first.eventId).length, (n) => n >= 2, 60_000, 100);
  });

  it('is managed by workspace admins and operators only', async () => {
    const member = await createUserWithToken(registry.adminAddress, { email: `reader@${ws.slug}.example.com`, scopes: ['read:package', 'write:package', 'admin:package'], sourceRepositoryId: ws.sourceRepositoryId, role: 'admin' }, registry.operator.authorization);
    recordSecret(member.token);
    await expect(ctlAs(member.token)('webhook', 'list', ws.slug)).rejects.toThrow(/DENIED: only operators and admins of workspace/);
    await expect(ctlAs(member.token)('webhook', 'get', hook.id)).rejects.toThrow(/NOT_FOUND/);
    expect((await op('webhook', 'list', ws.slug)).webhooks.map((h: { id: string }) => h.id)).toContain(hook.id);
    await expect(ctl('webhook', 'create', ws.slug, receiver.url('/ok'), '--events', 'image.deleted')).rejects.toThrow(/INVALID_ARGUMENT: event_types/);
  });

  it('disables a hook after a run of failures, with the reason, and the audit log has every change but no secret', async () => {
    const failing = await ctl('webhook', 'create', ws.slug, receiver.url('/fail'), '--events', 'tag.deleted');
    recordSecret(failing.secret);
    const client = adminPortClient(registry, webhooks.WebhookServiceClient);
    try {
      for (let i = 0; i < 40; i++) await unaryCall(client.pingWebhook.bind(client), { webhookId: failing.webhook.id }, { authorization: `Bearer ${ws.admin.token}` });
    } finally {
      client.close();
    }
    const disabled = await pollUntil(async () => (await ctl('webhook', 'get', failing.webhook.id)).webhook, (w) => w.enabled !== true, 30_000, 200);
    expect(disabled.disabledReason).toMatch(/disabled after 40 failed deliveries in a row; the last: the target answered 500/);
    const log = await deliveries(failing.webhook.id);
    expect(log.some((d) => d.attemptLog?.some((a) => a.statusCode === 500 && a.responseHead === 'receiver is broken'))).toBe(true);
    // Enabled again by its admin: the run starts over.
    expect((await ctl('webhook', 'update', failing.webhook.id, '--enable')).webhook).toMatchObject({ enabled: true });

    const audit = await op('audit', 'list', '--workspace', ws.slug, '--action', 'webhook.*', '--limit', '100');
    const actions = (audit.entries as Array<{ action: string; chain: string }>).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['webhook.created', 'webhook.deleted', 'webhook.secret-rotated', 'webhook.disabled', 'webhook.updated']));
    expect((audit.entries as Array<{ chain: string }>).every((e) => e.chain === 'webhooks')).toBe(true);
    for (const secret of [hook.secret, failing.secret]) expect(JSON.stringify(audit)).not.toContain(secret);
    expect((await op('audit', 'verify')).ok).toBe(true);

    // Operators see the attempts and the backlog.
    const metrics = await (await fetch(registry.metricsUrl('webhooks'))).text();
    expect(Number(/^webhooks_delivery_attempts_total\{[^}]*outcome="success"[^}]*\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1000);
    expect(Number(/^webhooks_delivery_attempts_total\{[^}]*outcome="failure"[^}]*\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(40);
    expect(metrics).toMatch(/^webhooks_pending_deliveries(\{[^}]*\})? \d+/m);
  });

  it('is managed through the JSON API and the web UI page by a signed-in workspace admin', async () => {
    const user = await webUser(registry, { sourceRepositoryId: ws.sourceRepositoryId, role: 'admin' });
    const client = adminPortClient(registry, admin.AdminServiceClient);
    await unaryCall(client.addWorkspaceAdmin.bind(client), { workspaceSlug: ws.slug, userId: user.userId }, { authorization: registry.operator.authorization }).finally(() => client.close());
    const web = new WebClient(registry.gatewayUrl);
    expect((await web.signIn(user.email, user.password)).status).toBe(201);

    const created = await web.request<{ webhook: { id: string; url: string; enabled: boolean }; secret: string }>('POST', `/api/v1/workspaces/${ws.slug}/webhooks`, { url: receiver.url('/ok'), eventTypes: ['tag.deleted'], packagePatterns: ['app'] });
    expect(created.status).toBe(201);
    recordSecret(created.body.secret);
    expect(created.body.webhook).toMatchObject({ url: receiver.url('/ok'), enabled: true });
    const listed = await web.get<{ webhooks: Array<{ id: string }> }>(`/api/v1/workspaces/${ws.slug}/webhooks`);
    expect(listed.body.webhooks.map((h) => h.id)).toContain(created.body.webhook.id);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    expect((await web.request('POST', `/api/v1/workspaces/${ws.slug}/webhooks`, { url: inside.url('/') })).status).toBe(400);
    expect((await web.request('POST', `/api/v1/workspaces/${ws.slug}/webhooks`, { eventTypes: 'all' })).status).toBe(400);
    expect((await web.request('PATCH', `/api/v1/webhooks/${created.body.webhook.id}`, { enabled: false })).body).toMatchObject({ webhook: { enabled: false } });
    expect((await web.request('PATCH', `/api/v1/webhooks/${created.body.webhook.id}`, { enabled: true, eventTypes: ['tag.deleted', 'tag.moved'] })).body).toMatchObject({ webhook: { enabled: true, eventTypes: ['tag.deleted', 'tag.moved'], packagePatterns: ['app'] } });
    const ping = await web.request<{ delivery: { eventId: string } }>('POST', `/api/v1/webhooks/${created.body.webhook.id}/ping`);
    expect(ping.status).toBe(200);
    const pinged = await pollUntil(async () => receiver.received.find((r) => eventOf(r).id === ping.body.delivery.eventId), Boolean, 10_000, 100);
    expect(signedBy(pinged!, created.body.secret)).toBe(true);
    const log = await pollUntil(
      async () => (await web.get<{ deliveries: Array<{ state: string; attemptLog: Array<{ statusCode: number }> }> }>(`/api/v1/webhooks/${created.body.webhook.id}/deliveries`)).body.deliveries,
      (d) => d[0]?.state === 'succeeded',
      10_000,
      100,
    );
    expect(log[0]!.attemptLog[0]!.statusCode).toBe(200);
    // Someone who administers no workspace is refused.
    const stranger = new WebClient(registry.gatewayUrl);
    const other = await webUser(registry);
    await stranger.signIn(other.email, other.password);
    expect((await stranger.get(`/api/v1/workspaces/${ws.slug}/webhooks`)).status).toBe(403);
    expect((await stranger.request('DELETE', `/api/v1/webhooks/${created.body.webhook.id}`)).status).toBe(404);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${registry.gatewayUrl}/w/${ws.slug}/webhooks`);
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(user.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: `Webhooks of ${ws.slug}` }).waitFor();
      await page.getByLabel('Target URL').fill(receiver.url('/ok?from=ui'));
      await page.getByLabel('image.pushed').check();
      await page.getByRole('button', { name: 'Add webhook' }).click();
      await page.getByRole('heading', { name: /The signing secret of/ }).waitFor();
      const hookPanel = page.getByRole('region', { name: `Webhook ${receiver.url('/ok?from=ui')}` });
      await hookPanel.getByRole('button', { name: 'Send a ping' }).click();
      await hookPanel.getByRole('cell', { name: /webhook\.ping/ }).waitFor();
      await hookPanel.getByRole('cell', { name: 'succeeded' }).waitFor({ timeout: 15_000 });
      expect(await accessibilityViolations(page)).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
