import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TargetGuard } from '@ocireg/outbound';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamClient, UpstreamFailure } from './upstream-client';

/** The test's servers are on loopback, which an operator must allow (UPSTREAM_ALLOWED_CIDRS). */
const loopbackAllowed = new TargetGuard(['127.0.0.0/8', '::1/128'], 'UPSTREAM_ALLOWED_CIDRS');

/**
 * How the client reads an upstream's answers, against a small HTTP server
 * that answers as registries do (the pull-through e2e test drives the real
 * one): what counts as unreachable (so a cached tag is served), missing or
 * refused, and the Basic and Bearer challenges.
 */
describe('UpstreamClient against answers registries give', () => {
  let server: Server;
  let url: string;
  const seen: Array<{ path: string; authorization?: string }> = [];
  let answer: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
      answer(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = (username = '', password = '', timeoutMs = 2000, guard = loopbackAllowed) => new UpstreamClient({ label: 'ws/hub', url, username, password }, timeoutMs, guard);
  const failure = async (promise: Promise<unknown>) => {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UpstreamFailure);
    return err as UpstreamFailure;
  };

  it('calls 429 and 5xx unreachable, 404 missing, and names the upstream, never its URL or credentials', async () => {
    for (const status of [429, 500, 502, 503]) {
      answer = (_req, res) => res.writeHead(status).end();
      const err = await failure(client('bot', 'secret').manifest('library/alpine', '3', 'HEAD'));
      expect(err.kind).toBe('unreachable');
      expect(err.message).toContain(`ws/hub: HEAD library/alpine/manifests answered ${status}`);
      expect(err.message).not.toContain('secret');
    }
    answer = (_req, res) => res.writeHead(404).end();
    expect((await failure(client().manifest('library/alpine', '3', 'GET'))).kind).toBe('missing');
  });

  it('calls an upstream that does not answer within the timeout unreachable, and a refused connection too', async () => {
    answer = () => undefined; // never answers
    const started = Date.now();
    const slow = await failure(client('', '', 300).manifest('library/alpine', '3', 'HEAD'));
    expect(slow).toMatchObject({ kind: 'unreachable', message: expect.stringContaining('no answer within 300 ms') });
    expect(Date.now() - started).toBeLessThan(2000);
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const closed = new UpstreamClient({ label: 'ws/gone', url: `http://127.0.0.1:${port}`, username: '', password: '' }, 1000, loopbackAllowed);
    expect(await failure(closed.blob('library/alpine', 'sha256:00'))).toMatchObject({ kind: 'unreachable', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('answers a Basic challenge with the stored credentials, and calls a second 401 refused', async () => {
    answer = (req, res) => {
      if (req.headers.authorization === `Basic ${Buffer.from('bot:secret').toString('base64')}`) {
        res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Docker-Content-Digest': 'sha256:abc' }).end('{}');
      } else {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="upstream"' }).end();
      }
    };
    expect(await client('bot', 'secret').manifest('library/alpine', '3', 'GET')).toMatchObject({ digest: 'sha256:abc', mediaType: 'application/vnd.oci.image.manifest.v1+json', content: Buffer.from('{}') });
    expect((await failure(client('bot', 'wrong').manifest('library/alpine', '3', 'GET'))).kind).toBe('refused');
    expect((await failure(client().manifest('library/alpine', '3', 'GET'))).kind).toBe('refused');
  });

  it('answers a Bearer challenge with a pull token for the repository, fetched with the credentials and reused', async () => {
    seen.length = 0;
    answer = (req, res) => {
      if (req.url?.startsWith('/token')) {
        const query = new URL(req.url, url).searchParams;
        const basic = req.headers.authorization === `Basic ${Buffer.from('bot:secret').toString('base64')}`;
        if (!basic || query.get('scope') !== 'repository:library/alpine:pull' || query.get('service') !== 'hub') return void res.writeHead(401).end();
        return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: 'tok', expires_in: 300 }));
      }
      if (req.headers.authorization === 'Bearer tok') return void res.writeHead(200, { 'Content-Length': 5 }).end('bytes');
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="${url}/token",service="hub",scope="repository:library/alpine:pull"` }).end();
    };
    const hub = client('bot', 'secret');
    const first = await hub.blob('library/alpine', 'sha256:00');
    expect(first.size).toBe(5);
    first.body.resume();
    expect(await hub.blobSize('library/alpine', 'sha256:00')).toBe(5);
    // One token fetch; the second request went straight in with the token.
    expect(seen.filter((s) => s.path.startsWith('/token'))).toHaveLength(1);
    expect(seen.at(-1)).toMatchObject({ path: '/v2/library/alpine/blobs/sha256:00', authorization: 'Bearer tok' });
  });

  it('follows a blob redirect to storage elsewhere without sending the credentials there', async () => {
    const storage: Array<string | undefined> = [];
    const elsewhere = createServer((req, res) => {
      storage.push(req.headers.authorization);
      res.writeHead(200, { 'Content-Length': 4 }).end('blob');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    try {
      // Another origin (as a CDN is): localhost instead of 127.0.0.1.
      answer = (_req, res) => res.writeHead(307, { Location: `http://localhost:${(elsewhere.address() as AddressInfo).port}/b` }).end();
      const blob = await client('bot', 'secret').blob('library/alpine', 'sha256:00');
      blob.body.resume();
      expect(blob.size).toBe(4);
      expect(storage).toEqual([undefined]);
      expect(seen.at(-1)?.authorization).toBe(`Basic ${Buffer.from('bot:secret').toString('base64')}`);
    } finally {
      await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
    }
  });

  it('reaches no private, loopback or link-local address unless allowed: not the upstream, not a redirect, not a token realm', async () => {
    seen.length = 0;
    answer = (_req, res) => res.writeHead(200, { 'Content-Length': 2 }).end('ok');
    const unallowed = await failure(client('bot', 'secret', 2000, new TargetGuard([], 'UPSTREAM_ALLOWED_CIDRS')).blob('library/alpine', 'sha256:00'));
    expect(unallowed).toMatchObject({ kind: 'unreachable', message: expect.stringContaining('127.0.0.1 (loopback), which may not be reached unless an operator allows it (UPSTREAM_ALLOWED_CIDRS)') });
    expect(seen).toHaveLength(0);

    answer = (_req, res) => res.writeHead(307, { Location: 'http://169.254.169.254/latest/meta-data/' }).end();
    const metadataAddress = await failure(client().blob('library/alpine', 'sha256:00'));
    expect(metadataAddress.message).toContain('169.254.169.254 (linkLocal)');

    answer = (_req, res) => res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="http://10.0.0.1/token",service="hub"' }).end();
    const realm = await failure(client('bot', 'secret').manifest('library/alpine', '3', 'GET'));
    expect(realm.message).toContain('10.0.0.1 (private)');
  });
});
