// Property-based fuzzing of the HTTP doors (/v2, /v2/token, /api/v1) against
// the real stack: whatever the request, the answer is never a 5xx and never a
// hang, and a refused request changes nothing (a digest of the workspace's
// metadata rows before and after). Bounded in count and time; the seed is
// printed on failure and can be replayed with FUZZ_SEED. The state is shared
// across requests, so a failure is reported as found, without shrinking.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, type RunningRegistry } from '@ocireg/devstack';
import { basicAuth, newWorkspace, recordSecret, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const TIME_LIMIT_MS = Number(process.env.FUZZ_SECONDS ?? 90) * 1000;
const REQUEST_TIMEOUT_MS = 10_000;

describe('HTTP fuzzing: never a 5xx, never a hang, a refused request changes nothing', () => {
  let registry: RunningRegistry;
  let ws: TestWorkspace;
  let pool: Pool;
  let readerAuth: string;
  let digests: string[];

  beforeAll(async () => {
    registry = await startTestRegistry();
    ws = await newWorkspace(registry, 'fuzz');
    const api = new OciHttp(registry.gatewayUrl, basicAuth(ws.admin));
    const pushed = await api.pushImage(`${ws.slug}/app`, 'v1');
    digests = [pushed.manifest.digest, pushed.config.digest, pushed.layer.digest];
    const reader = await createUserWithToken(registry.adminAddress, { email: `reader@${ws.slug}.example.com`, scopes: ['read:package'], sourceRepositoryId: ws.sourceRepositoryId, role: 'read' }, registry.operator.authorization);
    recordSecret(reader.token);
    readerAuth = basicAuth(reader);
    pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  });

  afterAll(async () => {
    await pool?.end();
    await registry?.stop();
  });

  /** What metadata holds for the workspace: manifests, tags, blob links, packages (digest of the rows). */
  async function stateDigest(): Promise<string> {
    const like = `${ws.slug}/%`;
    const { rows } = await pool.query<{ state: string }>(
      `SELECT md5(concat_ws('|',
         (SELECT string_agg(repository || digest || media_type, ',' ORDER BY repository, digest) FROM manifests WHERE repository LIKE $1),
         (SELECT string_agg(repository || name || digest, ',' ORDER BY repository, name) FROM tags WHERE repository LIKE $1),
         (SELECT string_agg(repository || digest, ',' ORDER BY repository, digest) FROM repository_blobs WHERE repository LIKE $1),
         (SELECT string_agg(p.name || p.repository_id, ',' ORDER BY p.name) FROM packages p JOIN workspaces w ON w.id = p.workspace_id WHERE w.slug = $2)
       )) AS state`,
      [like, ws.slug],
    );
    return rows[0]!.state;
  }

  it('holds for random requests', async () => {
    const name = fc.oneof(
      fc.constant(`${ws.slug}/app`),
      fc.constant(`${ws.slug}/new-${randomBytes(2).toString('hex')}`),
      fc.constantFrom('other/app', '../../etc/passwd', 'a', `${ws.slug}/A`, `${ws.slug}/${'x'.repeat(300)}`, `${ws.slug}/%00`, `${ws.slug}//x`),
      fc.string({ maxLength: 40 }).map((s) => `${ws.slug}/${encodeURIComponent(s)}`),
    );
    const reference = fc.oneof(fc.constantFrom('v1', 'latest', ...['sha256:', 'sha512:abc', `sha256:${'0'.repeat(64)}`]), fc.constant(digests[0]!), fc.string({ maxLength: 80 }).map(encodeURIComponent));
    const digest = fc.oneof(fc.constantFrom(...digests), fc.constant(`sha256:${'f'.repeat(64)}`), fc.string({ maxLength: 70 }).map(encodeURIComponent));
    const query = fc.dictionary(
      fc.constantFrom('n', 'last', 'digest', 'mount', 'from', 'tag', 'page_size', 'page_token', 'sort', 'prefix', 'project', 'repository', 'scope', 'service', 'artifactType', 'offline_token'),
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom('-1', '0', '2147483648', '99999999999', `${ws.slug}/app`, digests[1]!, 'true', '%00'),
        // Text the gateway refuses (text-input.ts); 3,000 characters in each of 4 keys still fit Node's 16 KiB of headers.
        fc.constantFrom('\u0000', 'a\u0000b', '\u001b', '\ud800', 'x'.repeat(3000), 'ü😀'.repeat(150), '../../etc/passwd'),
      ),
      { maxKeys: 4 },
    );
    const path = fc.oneof(
      fc.constant('/v2/'),
      fc.constant('/v2/_catalog'),
      fc.constant('/v2/token'),
      fc.tuple(name, reference).map(([n, r]) => `/v2/${n}/manifests/${r}`),
      fc.tuple(name, digest).map(([n, d]) => `/v2/${n}/blobs/${d}`),
      name.map((n) => `/v2/${n}/blobs/uploads/`),
      fc.tuple(name, fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }).map(encodeURIComponent))).map(([n, id]) => `/v2/${n}/blobs/uploads/${id}`),
      name.map((n) => `/v2/${n}/tags/list`),
      fc.tuple(name, digest).map(([n, d]) => `/v2/${n}/referrers/${d}`),
      fc.constantFrom(`/api/v1/workspaces/${ws.slug}/images`, `/api/v1/workspaces/${ws.slug}/images/app`, `/api/v1/workspaces/${ws.slug}/images/app/-/tags/v1`, '/api/v1/workspaces/nope/images'),
      fc.string({ maxLength: 60 }).map((s) => `/${encodeURI(s)}`),
    );
    const authorization = fc.oneof(
      fc.constant(undefined),
      fc.constant(basicAuth(ws.admin)),
      fc.constant(readerAuth),
      fc.constantFrom('Basic !!!', 'Basic ' + Buffer.from('x:y').toString('base64'), 'Bearer eyJhbGciOiJub25lIn0.e30.', 'Bearer ', 'Digest x'),
      fc.string({ maxLength: 60 }),
    );
    const body = fc.oneof(
      fc.constant(undefined),
      fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
      fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
      fc.constant(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digests[1], size: 1 }, layers: [] }))),
      fc.constant(Buffer.from('grant_type=password&username=a&password=b&scope=repository:x/y:pull')),
    );
    const header = fc.record(
      {
        'content-type': fc.constantFrom('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/octet-stream', 'application/x-www-form-urlencoded', 'text/plain', '\u00ff'),
        'content-range': fc.oneof(fc.constantFrom('0-0', '0-9', '5-1', '1000-1999', 'bytes 0-99', '-1-5', '99999999999999999999-1'), fc.string({ maxLength: 20 })),
        range: fc.oneof(fc.constantFrom('bytes=0-0', 'bytes=-5', 'bytes=5-1', 'bytes=0-99999999999', 'bytes=1-2,3-4'), fc.string({ maxLength: 20 })),
        accept: fc.string({ maxLength: 40 }),
        'x-forwarded-for': fc.constantFrom('1.2.3.4', 'not-an-ip', '1.2.3.4, 5.6.7.8'),
      },
      { requiredKeys: [] },
    );
    const request = fc.record({ method: fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS'), path, query, authorization, body, header });

    let state = await stateDigest();
    // The last requests and answers, for the failure message (state is shared, so the one before matters too).
    const recent: string[] = [];
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path: requestPath, query: params, authorization: auth, body: payload, header: extra }) => {
        const url = new URL(`${registry.gatewayUrl}${requestPath.startsWith('/') ? requestPath : `/${requestPath}`}`);
        for (const [key, value] of Object.entries(params)) url.searchParams.append(key, value);
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(extra)) if (value !== undefined && /^[\x20-\x7e]*$/.test(value)) headers[key] = value;
        if (auth !== undefined && /^[\x20-\x7e]*$/.test(auth)) headers.authorization = auth;
        const withBody = payload !== undefined && method !== 'GET' && method !== 'HEAD';
        const response = await fetch(url, { method, headers, body: withBody ? payload : undefined, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        await response.arrayBuffer();
        recent.push(`${method} ${url.pathname}${url.search} -> ${response.status}`);
        if (recent.length > 5) recent.shift();
        expect(response.status, `${method} ${url.pathname}${url.search}`).toBeLessThan(500);
        expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
        const after = await stateDigest();
        if (response.status >= 400) expect(after, `a refused ${method} ${url.pathname} changed the workspace; the last requests: ${recent.join(' | ')}`).toBe(state);
        state = after;
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, endOnFailure: true, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined, verbose: 1 },
    );
    // The registry is still whole: it answers and takes a push.
    expect((await fetch(`${registry.gatewayUrl}/v2/`, { headers: { Authorization: basicAuth(ws.admin) } })).status).toBe(200);
    await new OciHttp(registry.gatewayUrl, basicAuth(ws.admin)).pushImage(`${ws.slug}/after-fuzzing`, 'v1');
  });
});
