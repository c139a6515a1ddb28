// The SSRF guard and the sender against real HTTP servers on loopback:
// private, loopback and link-local targets refused after DNS resolution
// (a name that resolves to 127.0.0.1), redirects not followed by default and
// checked again when they are, the operator's allowlist, bounded answers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpSender, RESPONSE_HEAD_BYTES } from './http-sender';
import { TargetGuard, type Resolve } from '@ocireg/outbound';

describe('delivering to a target', () => {
  let server: Server;
  let port: number;
  const hits: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.socket.localAddress} ${req.url}`);
      if (req.url === '/redirect-loopback') res.writeHead(302, { location: `http://127.0.0.1:${port}/inside` }).end();
      else if (req.url === '/redirect-metadata') res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      else if (req.url === '/big') res.writeHead(500).end('x'.repeat(10_000));
      else if (req.url === '/hang') undefined;
      else res.writeHead(200).end('thanks');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  // A resolver that says what the test wants (a public-looking name pointing inside).
  const names: Resolve = async (host) => (host === 'hooks.example.com' ? [{ address: '127.0.0.2', family: 4 }] : host === 'rebind.example.com' ? [{ address: '127.0.0.1', family: 4 }] : []);
  const sender = (allowed: string[], followRedirects = false) => new HttpSender({ guard: new TargetGuard(allowed, 'WEBHOOK_ALLOWED_CIDRS', names), timeoutMs: 1500, followRedirects, userAgent: 'test' });
  const post = (s: HttpSender, url: string) => s.send(url, { 'content-type': 'application/json' }, '{}');

  it('refuses loopback, link-local and private targets without the allowlist, by address or by a name resolving to one', async () => {
    const strict = sender([]);
    for (const url of [`http://127.0.0.2:${port}/`, `http://127.0.0.1:${port}/`, 'http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/', 'http://[::1]:80/', 'http://[::ffff:127.0.0.1]/', `http://hooks.example.com:${port}/`, `http://rebind.example.com:${port}/`]) {
      const result = await post(strict, url);
      expect(result, url).toMatchObject({ statusCode: 0, error: expect.stringMatching(/^refused: .*(loopback|linkLocal|private)/) });
    }
    expect(await post(strict, 'http://nowhere.example.com/')).toMatchObject({ error: expect.stringMatching(/^refused: .*does not resolve/) });
    expect(await post(strict, 'ftp://example.com/')).toMatchObject({ error: 'refused: the URL must be http or https' });
    expect(await post(strict, 'http://user:pw@example.com/')).toMatchObject({ error: expect.stringContaining('credentials') });
    expect(hits).toEqual([]);
  });

  it('reaches an allowed address, connecting to the address it checked', async () => {
    const allowed = sender(['127.0.0.2/32']);
    expect(await post(allowed, `http://hooks.example.com:${port}/ok`)).toMatchObject({ statusCode: 200, error: '', responseHead: 'thanks' });
    expect(hits.pop()).toBe('127.0.0.2 /ok');
    // Allowing one address allows no other: the name that resolves to 127.0.0.1 stays refused.
    expect(await post(allowed, `http://rebind.example.com:${port}/`)).toMatchObject({ error: expect.stringContaining('loopback') });
    const big = await post(allowed, `http://127.0.0.2:${port}/big`);
    expect(big).toMatchObject({ statusCode: 500, error: 'the target answered 500' });
    expect(big.responseHead.length).toBe(RESPONSE_HEAD_BYTES);
  });

  it('does not follow redirects by default, and checks each one when it does', async () => {
    const count = hits.length;
    expect(await post(sender(['127.0.0.2/32']), `http://127.0.0.2:${port}/redirect-loopback`)).toMatchObject({ statusCode: 302, error: expect.stringContaining('not followed') });
    const following = sender(['127.0.0.2/32'], true);
    expect(await post(following, `http://127.0.0.2:${port}/redirect-loopback`)).toMatchObject({ statusCode: 0, error: expect.stringMatching(/^refused: 127\.0\.0\.1 .*loopback/) });
    expect(await post(following, `http://127.0.0.2:${port}/redirect-metadata`)).toMatchObject({ error: expect.stringMatching(/^refused: 169\.254\.169\.254 .*linkLocal/) });
    // The target at the redirect never saw a request (the server logs each by the address it came in on).
    expect(hits.slice(count).every((hit) => hit.startsWith('127.0.0.2 /redirect'))).toBe(true);
  });

  it('gives up on a target that never answers after the timeout', async () => {
    const started = Date.now();
    expect(await post(sender(['127.0.0.2/32']), `http://127.0.0.2:${port}/hang`)).toMatchObject({ statusCode: 0, error: expect.stringContaining('no answer within') });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
