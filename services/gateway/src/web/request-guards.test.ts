import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './image-configs';
import { isSafeMethod, requireCsrfToken, requireSameOrigin } from './request-guards';
import { SessionCookies } from './session-cookie';

function request(headers: Record<string, string>, method = 'POST', peer = '127.0.0.1'): IncomingMessage {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: peer });
  return { headers, method, socket } as unknown as IncomingMessage;
}

describe('CSRF and Origin checks', () => {
  it('lets only GET, HEAD and OPTIONS skip them', () => {
    expect(['GET', 'HEAD', 'OPTIONS'].every(isSafeMethod)).toBe(true);
    expect(['POST', 'PUT', 'PATCH', 'DELETE', undefined].some(isSafeMethod)).toBe(false);
  });

  it('wants our Origin, or a same-origin fetch without one', () => {
    expect(() => requireSameOrigin(request({ origin: 'http://reg.example:5000' }), 'http://reg.example:5000')).not.toThrow();
    expect(() => requireSameOrigin(request({ origin: 'http://evil.example' }), 'http://reg.example:5000')).toThrow(/cross-origin/);
    expect(() => requireSameOrigin(request({ origin: 'null' }), 'http://reg.example:5000')).toThrow(/cross-origin/);
    expect(() => requireSameOrigin(request({ 'sec-fetch-site': 'same-origin' }), 'http://reg.example:5000')).not.toThrow();
    expect(() => requireSameOrigin(request({ 'sec-fetch-site': 'cross-site' }), 'http://reg.example:5000')).toThrow(/Origin/);
    expect(() => requireSameOrigin(request({}), 'http://reg.example:5000')).toThrow(/Origin/);
  });

  it('compares the CSRF token exactly, and refuses when the session has none', () => {
    expect(() => requireCsrfToken(request({ 'x-csrf-token': 'abc' }), 'abc')).not.toThrow();
    expect(() => requireCsrfToken(request({ 'x-csrf-token': 'abd' }), 'abc')).toThrow(/X-CSRF-Token/);
    expect(() => requireCsrfToken(request({ 'x-csrf-token': 'ab' }), 'abc')).toThrow(/X-CSRF-Token/);
    expect(() => requireCsrfToken(request({}), 'abc')).toThrow(/X-CSRF-Token/);
    expect(() => requireCsrfToken(request({ 'x-csrf-token': '' }), '')).toThrow(/X-CSRF-Token/);
  });
});

describe('session cookies', () => {
  const behindProxy = new SessionCookies({ trustedProxies: ['10.0.0.0/8'] });

  it('are HttpOnly and SameSite=Lax; Secure with the __Host- prefix only over TLS', () => {
    const headers: string[] = [];
    const res = { appendHeader: (_: string, value: string) => headers.push(value) } as never;
    behindProxy.set(request({ host: 'reg.example' }, 'POST', '10.1.2.3'), res, 'secret', 3600);
    behindProxy.set(request({ host: 'reg.example', 'x-forwarded-proto': 'https' }, 'POST', '10.1.2.3'), res, 'secret', 3600);
    // X-Forwarded-Proto from anyone but a trusted proxy is ignored.
    behindProxy.set(request({ host: 'reg.example', 'x-forwarded-proto': 'https' }, 'POST', '203.0.113.9'), res, 'secret', 3600);
    expect(headers).toEqual([
      'ocireg_session=secret; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax',
      '__Host-ocireg_session=secret; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure',
      'ocireg_session=secret; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax',
    ]);
  });

  it('read the cookie of the request\'s scheme, and the expected Origin follows PUBLIC_URL when set', () => {
    expect(behindProxy.read(request({ cookie: 'a=b; ocireg_session=s1; __Host-ocireg_session=s2' }))).toBe('s1');
    expect(behindProxy.read(request({ cookie: 'ocireg_session=s1; __Host-ocireg_session=s2', 'x-forwarded-proto': 'https' }, 'GET', '10.0.0.1'))).toBe('s2');
    expect(behindProxy.expectedOrigin(request({ host: 'reg.example:5000' }))).toBe('http://reg.example:5000');
    const pinned = new SessionCookies({ publicUrl: 'https://registry.example.com/', trustedProxies: [] });
    expect(pinned.expectedOrigin(request({ host: 'attacker.example' }))).toBe('https://registry.example.com');
    expect(pinned.isHttps(request({}))).toBe(true);
  });
});

describe('image config facts', () => {
  it('reads entrypoint, command, labels and platform; leaves the environment out; survives junk', () => {
    const facts = parseConfig(JSON.stringify({ os: 'linux', architecture: 'arm64', variant: 'v8', created: '2026-01-01T00:00:00Z', config: { Entrypoint: ['/bin/app'], Cmd: ['--serve'], Env: ['SECRET=x'], Labels: { a: 'b', n: 1 }, ExposedPorts: { '80/tcp': {} }, WorkingDir: '/srv', User: 'app' }, history: [{}, {}] }));
    expect(facts).toEqual({ created: '2026-01-01T00:00:00Z', os: 'linux', architecture: 'arm64', variant: 'v8', entrypoint: ['/bin/app'], cmd: ['--serve'], workingDir: '/srv', user: 'app', exposedPorts: ['80/tcp'], labels: { a: 'b' }, historySteps: 2 });
    expect(JSON.stringify(facts)).not.toContain('SECRET');
    expect(parseConfig('{not json')).toBeUndefined();
    expect(parseConfig('null')).toBeUndefined();
    expect(parseConfig('{"config":{"Entrypoint":"sh"}}')?.entrypoint).toEqual([]);
  });
});
