// Every string field of every JSON route and every admin RPC (and every query
// parameter of /v2 and the token endpoint's form) gets every value of a corpus
// of bad and awkward strings: NUL, control characters, lone surrogates, a
// megabyte, very long unicode, ../, a literal %00, the empty string. The
// caller may call each (the operator; a workspace Admin on /v2) and one real
// registry answers: never a 5xx (gRPC INTERNAL, UNKNOWN or UNAVAILABLE),
// every process stays up, and what the gateway must refuse (text-input.ts)
// is refused with 400 / INVALID_ARGUMENT naming the field.
//
// The JSON routes come from the gateway's own express routers (api-routes.ts)
// and the RPCs and their string fields from the descriptors of the .proto
// files the admin port serves, so a new route, method or field is fuzzed
// without touching this file. Body and query fields are not declared per
// route: each route gets every field name the JSON API reads (the check is
// generic, so a field a route does not read is refused all the same).
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, type RunningRegistry, type ServiceName } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, audit, immutableTags, PROTO_DIR, PROTO_FILES, retention, users, webhooks } from '@ocireg/proto';
import { apiRoutes, pathOf, routeTakes, type ApiRoute } from './api-routes';
import { adminPortClient, basicAuth, newWorkspace, recordSecret, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';

interface CorpusValue {
  label: string;
  value: string;
  /** Where the gateway must refuse it with 400 / INVALID_ARGUMENT naming the field; elsewhere it only must not answer 5xx. */
  refused: 'always' | 'in-json' | 'never';
}

const MEGABYTE = 'x'.repeat(1 << 20);
const CORPUS: CorpusValue[] = [
  { label: 'NUL', value: '\u0000', refused: 'always' },
  { label: 'a NUL inside', value: 'a\u0000b', refused: 'always' },
  { label: 'an escape character', value: 'a\u001b[31mb', refused: 'always' },
  // UTF-8 has no encoding of a lone surrogate: a URL's %ED%A0%80 and a gRPC string arrive as U+FFFD. Only JSON's \ud800 brings one in.
  { label: 'a lone high surrogate', value: '\ud800', refused: 'in-json' },
  { label: 'a lone low surrogate', value: 'a\udfffb', refused: 'in-json' },
  { label: '1 MB', value: MEGABYTE, refused: 'always' },
  // 2,100 UTF-16 units, beyond every field's bound, yet a URL within Node's 16 KiB of headers.
  { label: 'very long unicode', value: 'Grüße 日本 😀 '.repeat(175), refused: 'always' },
  { label: '../', value: '../../etc/passwd', refused: 'never' },
  { label: 'a literal %00', value: '%00', refused: 'never' },
  { label: 'unicode', value: 'Grüße 日本 😀', refused: 'never' },
  { label: 'empty', value: '', refused: 'never' },
];

/** Query parameters and JSON body fields the API reads somewhere (every route gets them all). */
const QUERY_FIELDS = ['prefix', 'page_token', 'sort', 'page_size', 'project', 'sourceRepository'];
const BODY_FIELDS = ['email', 'password', 'name', 'user', 'role', 'secret', 'purpose', 'workspace', 'sourceRepositoryId', 'sourceRepository', 'project', 'url', 'pattern', 'level', 'package'];
/** Query parameters of the OCI distribution API and the token endpoint, and the token endpoint's form fields. */
const OCI_QUERY_FIELDS = ['n', 'last', 'digest', 'mount', 'from', 'tag', 'artifactType', 'scope', 'service', 'offline_token', 'account'];
const TOKEN_FORM_FIELDS = ['grant_type', 'username', 'password', 'refresh_token', 'scope', 'service', 'client_id', 'access_type'];

const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 15_000;
const SERVICES: ServiceName[] = ['gateway', 'auth', 'metadata', 'blob-upload', 'indexer'];

/** One request with a corpus value in one place; the request is built when sent (a megabyte in a thousand URLs at once would not fit). */
interface HttpCase {
  what: string;
  /** A form is a body, but not JSON: a lone surrogate cannot be written there either. */
  place: 'path' | 'query' | 'body' | 'form';
  field: string;
  corpus: CorpusValue;
  request: () => { url: string; init: RequestInit };
}

describe('string fuzzing: every field of every JSON route, admin RPC and /v2 query, never a 5xx, bad text refused naming the field', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;
  let samples: Record<string, string>;
  let pids: Record<string, number | undefined>;
  let manifestDigest: string;

  beforeAll(async () => {
    registry = await startTestRegistry();
    workspace = await newWorkspace(registry, 'fuzzstr');
    const oci = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
    const pushed = await oci.pushImage(`${workspace.slug}/app`, 'v1');
    manifestDigest = (await oci.pushImage(`${workspace.slug}/v2target`, 'v1')).manifest.digest;
    const member = await createUserWithToken(registry.adminAddress, { email: `member@${workspace.slug}.example.com`, scopes: ['read:package'], sourceRepositoryId: workspace.sourceRepositoryId, role: 'read' }, registry.operator.authorization);
    recordSecret(member.token);
    // Route parameters: real things, so valid values reach what the route does.
    samples = { provider: 'corp', id: '00000000-0000-4000-8000-000000000000', workspace: workspace.slug, name: 'app', tag: 'v1', digest: pushed.manifest.digest, project: 'main', repository: 'app', sourceRepository: 'app', sourceRepositoryId: workspace.sourceRepositoryId, userId: member.userId, tokenId: '00000000-0000-4000-8000-000000000000', webhookId: '00000000-0000-4000-8000-000000000000', deliveryId: '00000000-0000-4000-8000-000000000000' };
    pids = Object.fromEntries(SERVICES.map((service) => [service, registry.pid(service)]));
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('the JSON API', async () => {
    const routes = apiRoutes();
    expect(routes.length).toBeGreaterThan(25);
    for (const route of routes) expect(routeTakes(route, pathOf(route, samples)), `the sample path of ${route.method} ${String(route.path)}`).toBe(true);
    // Deletions last, so the other routes find what they act on.
    routes.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
    await expectAllAnswered(routes.flatMap((route) => CORPUS.flatMap((corpus) => jsonApiCases(route, corpus))), runHttpCase);
    await expectAllUp();
  });

  /** One request per route parameter, query parameter and (POST and PUT) body field, the value in that one place. */
  function jsonApiCases(route: ApiRoute, corpus: CorpusValue): HttpCase[] {
    // The operator's API token (no CSRF to carry), and our Origin, which sign-in and password links want.
    const headers = { Authorization: `Bearer ${registry.operator.token}`, Origin: new URL(registry.gatewayUrl).origin, 'Content-Type': 'application/json' };
    const withBody = route.method === 'POST' || route.method === 'PUT';
    const one = (place: HttpCase['place'], field: string, target: () => { path: string; query?: string; body?: Record<string, unknown> }): HttpCase => ({
      what: `${route.method} ${String(route.path)} ${place} ${field} = ${corpus.label}`,
      place,
      field,
      corpus,
      request: () => {
        const { path, query, body = withBody ? baseBody() : undefined } = target();
        return { url: `${registry.gatewayUrl}${path}${query ? `?${query}` : ''}`, init: { method: route.method, headers, body: body && JSON.stringify(body) } };
      },
    });
    const samplePath = pathOf(route, samples);
    // Fewer requests where they could only repeat one another: a megabyte is refused before any field is read (once
    // per place is enough), and only GET routes read the query (elsewhere a value let through only replays the base request).
    const queryFields = corpus.value === MEGABYTE ? QUERY_FIELDS.slice(0, 1) : route.method === 'GET' || corpus.refused === 'always' ? QUERY_FIELDS : [];
    const bodyFields = !withBody ? [] : corpus.value === MEGABYTE ? BODY_FIELDS.slice(0, 1) : BODY_FIELDS;
    return [
      ...route.params.map((param) => one('path', param, () => ({ path: pathOf(route, { ...samples, [param]: corpus.value }, urlEncoded) }))),
      ...queryFields.map((field) => one('query', field, () => ({ path: samplePath, query: `${field}=${urlEncoded(corpus.value)}` }))),
      ...bodyFields.map((field) => one('body', field, () => ({ path: samplePath, body: { ...baseBody(), [field]: corpus.value } }))),
      ...(withBody ? [one('body', 'scopes[0]', () => ({ path: samplePath, body: { ...baseBody(), scopes: [corpus.value] } }))] : []),
    ];
  }

  /** A body every POST and PUT could act on, so a valid value gets past the other fields. */
  function baseBody(): Record<string, unknown> {
    return { email: `someone@${workspace.slug}.example.com`, password: 'a long enough password', name: 'fuzzed', scopes: ['read:package'], expiresInDays: 1, user: `member@${workspace.slug}.example.com`, role: 'read', secret: 'not-a-secret', purpose: 'invite', workspace: workspace.slug, sourceRepositoryId: workspace.sourceRepositoryId, sourceRepository: 'app', project: 'main', url: 'https://hooks.example.com/registry', pattern: 'fuzzed-*', level: 'workspace', package: 'app' };
  }

  it('the admin port', async () => {
    const definitions = loadSync([PROTO_FILES.admin, PROTO_FILES.users, PROTO_FILES.audit, PROTO_FILES.webhooks, PROTO_FILES.retention, PROTO_FILES.immutableTags], { includeDirs: [PROTO_DIR], keepCase: true });
    const services = [
      { definition: admin.AdminServiceService, client: adminPortClient(registry, admin.AdminServiceClient) },
      { definition: users.UserServiceService, client: adminPortClient(registry, users.UserServiceClient) },
      { definition: audit.AuditServiceService, client: adminPortClient(registry, audit.AuditServiceClient) },
      { definition: webhooks.WebhookServiceService, client: adminPortClient(registry, webhooks.WebhookServiceClient) },
      { definition: retention.RetentionServiceService, client: adminPortClient(registry, retention.RetentionServiceClient) },
      { definition: immutableTags.ImmutableTagServiceService, client: adminPortClient(registry, immutableTags.ImmutableTagServiceClient) },
    ];
    try {
      const cases = services.flatMap(({ definition, client }) =>
        Object.entries(definition as Record<string, { path: string; requestDeserialize: (bytes: Buffer) => object }>).flatMap(([method, { path: rpcPath, requestDeserialize }]) =>
          stringFieldsOf(definitions, requestTypeOf(definitions, rpcPath)).flatMap(({ field, set }) =>
            CORPUS.map((corpus) => async (): Promise<string | undefined> => {
              // The message's defaults (decoded from no bytes), with the one field set.
              const request = set(requestDeserialize(Buffer.alloc(0)) as Record<string, unknown>, corpus.value);
              const call = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method]!.bind(client) as never;
              const what = `${rpcPath.split('/').pop()}.${field} = ${corpus.label}`;
              const failed = await unaryCall(call, request, { authorization: registry.operator.authorization, deadlineMs: REQUEST_TIMEOUT_MS }).then(
                () => undefined,
                (err: { code?: string; detail?: { field?: string } }) => err,
              );
              if (failed && ['UNKNOWN', 'UNAVAILABLE'].includes(failed.code ?? '')) return `${what}: ${failed.code} (a server error)`;
              if (corpus.refused !== 'always') return undefined;
              if (failed?.code === 'INVALID_ARGUMENT' && failed.detail?.field === field) return undefined;
              return `${what}: ${failed?.code ?? 'OK'} naming ${JSON.stringify(failed?.detail?.field)}, expected INVALID_ARGUMENT naming ${field}`;
            }),
          ),
        ),
      );
      expect(cases.length).toBeGreaterThan(500);
      await expectAllAnswered(cases, (run) => run());
    } finally {
      for (const { client } of services) client.close();
    }
    await expectAllUp();
  });

  it('the registry API (/v2) and the token endpoint', async () => {
    const name = `${workspace.slug}/v2target`;
    const started = await fetch(`${registry.gatewayUrl}/v2/${name}/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuth(workspace.admin) } });
    const uploadPath = started.headers.get('location')!.replace(/^https?:\/\/[^/]+/, '').split('?')[0]!;
    const endpoints: Array<[string, string]> = [
      ['GET', '/v2/'],
      ['GET', '/v2/_catalog'],
      ['GET', '/v2/token'],
      ['GET', `/v2/${name}/tags/list`],
      ['GET', `/v2/${name}/manifests/v1`],
      ['HEAD', `/v2/${name}/manifests/${manifestDigest}`],
      ['PUT', `/v2/${name}/manifests/v2`],
      ['GET', `/v2/${name}/blobs/${manifestDigest}`],
      ['GET', `/v2/${name}/referrers/${manifestDigest}`],
      ['POST', `/v2/${name}/blobs/uploads/`],
      ['GET', uploadPath],
      ['PATCH', uploadPath],
      ['PUT', uploadPath],
      ['DELETE', uploadPath],
      ['DELETE', `/v2/${name}/manifests/${manifestDigest}`],
    ];
    const headers = { Authorization: basicAuth(workspace.admin) };
    const cases = CORPUS.flatMap((corpus) => [
      ...endpoints.flatMap(([method, path]): HttpCase[] =>
        OCI_QUERY_FIELDS.map((field) => ({
          what: `${method} ${path} query ${field} = ${corpus.label}`,
          place: 'query',
          field,
          corpus,
          request: () => ({ url: `${registry.gatewayUrl}${path}?${field}=${urlEncoded(corpus.value)}`, init: { method, headers } }),
        })),
      ),
      ...TOKEN_FORM_FIELDS.map((field): HttpCase => {
        const form = { grant_type: 'password', username: workspace.admin.email, password: workspace.admin.token, scope: `repository:${name}:pull`, [field]: corpus.value };
        return {
          what: `POST /v2/token form ${field} = ${corpus.label}`,
          place: 'form',
          field,
          corpus,
          request: () => ({ url: `${registry.gatewayUrl}/v2/token`, init: { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Object.entries(form).map(([key, value]) => `${key}=${urlEncoded(value)}`).join('&') } }),
        };
      }),
    ]);
    // Deletions last, so the other requests find what they act on.
    cases.sort((a, b) => Number(a.what.startsWith('DELETE')) - Number(b.what.startsWith('DELETE')));
    await expectAllAnswered(cases, runHttpCase);
    await expectAllUp();
  });

  /** Every service is still the process it was, and answers. */
  async function expectAllUp(): Promise<void> {
    for (const service of SERVICES) {
      expect(registry.pid(service), `${service} was restarted`).toBe(pids[service]);
      expect(() => process.kill(pids[service]!, 0), `${service} exited`).not.toThrow();
    }
    expect((await fetch(`${registry.gatewayUrl}/v2/`, { headers: { Authorization: basicAuth(workspace.admin) } })).status).toBe(200);
    const client = adminPortClient(registry, admin.AdminServiceClient);
    try {
      await expect(unaryCall(client.getWorkspace.bind(client), { slug: workspace.slug }, { authorization: registry.operator.authorization })).resolves.toMatchObject({ workspace: { slug: workspace.slug } });
    } finally {
      client.close();
    }
  }
});

/** Sends the request and judges the answer: a description of what is wrong, or undefined. */
async function runHttpCase({ what, place, field, corpus, request }: HttpCase): Promise<string | undefined> {
  const { url, init } = request();
  let status: number;
  let error: { code?: string; detail?: { field?: string } } | undefined;
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    status = response.status;
    const text = await response.text();
    // JSON errors; a stream of JSON lines (the audit export) is an answer, not an error.
    const json = (response.headers.get('content-type') ?? '').startsWith('application/json');
    error = json && text.startsWith('{') ? (JSON.parse(text) as { errors?: Array<typeof error> }).errors?.[0] : undefined;
  } catch (err) {
    // A URL beyond Node's header limit: it answers 431 and closes, sometimes before the client has sent all of it.
    if (corpus.value === MEGABYTE && (place === 'path' || place === 'query')) return undefined;
    return `${what}: ${(err as Error).message}`;
  }
  if (status >= 500) return `${what}: ${status} (a server error)`;
  const refused = corpus.refused === 'always' || (corpus.refused === 'in-json' && place === 'body');
  if (!refused) return undefined;
  // A megabyte never gets as far as the fields: Node refuses the URL (431), the body parsers the body (413).
  if (corpus.value === MEGABYTE) return status === (place === 'path' || place === 'query' ? 431 : 413) ? undefined : `${what}: ${status}, expected it refused before it was read`;
  if (status === 400 && error?.code === 'INVALID_ARGUMENT' && error.detail?.field === field) return undefined;
  // A HEAD answer has no body to name the field in.
  if (status === 400 && init.method === 'HEAD') return undefined;
  return `${what}: ${status} ${error?.code ?? ''} naming ${JSON.stringify(error?.detail?.field)}, expected 400 INVALID_ARGUMENT naming ${field}`;
}

/** Runs every case, a few at a time, and expects no failure; server errors are listed first. */
async function expectAllAnswered<C>(cases: C[], run: (one: C) => Promise<string | undefined>): Promise<void> {
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length) {
        const failure = await run(cases[next++]!);
        if (failure) failures.push(failure);
      }
    }),
  );
  failures.sort((a, b) => Number(!a.includes('server error')) - Number(!b.includes('server error')));
  expect(failures.slice(0, 30), `${failures.length} of ${cases.length} answered wrongly, ${failures.filter((f) => f.includes('server error')).length} with a server error`).toEqual([]);
}

interface MessageDescriptor {
  name: string;
  field: Array<{ name: string; type: string; label: string; typeName: string }>;
}

/** The descriptor of an RPC's request type, from the .proto files. */
function requestTypeOf(definitions: PackageDefinition, rpcPath: string): MessageDescriptor {
  const [serviceName, methodName] = rpcPath.slice(1).split('/') as [string, string];
  const method = (definitions[serviceName] as unknown as Record<string, { requestType: { type: unknown } }>)[methodName]!;
  return method.requestType.type as MessageDescriptor;
}

/** ts-proto's name of a field (camelCase). */
const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Every string a request can carry, as the gateway names it when it refuses
 * one (`name`, `scopes[0]`, `mappings[0].claimValue`), and how to put a value
 * there: strings and lists of strings, and those of nested messages (one
 * element, its other fields at their defaults).
 */
function stringFieldsOf(definitions: PackageDefinition, descriptor: MessageDescriptor, depth = 0): Array<{ field: string; set: (message: Record<string, unknown>, value: string) => Record<string, unknown> }> {
  return descriptor.field.flatMap((f) => {
    const name = camel(f.name);
    const repeated = f.label === 'LABEL_REPEATED';
    if (f.type === 'TYPE_STRING') return [{ field: repeated ? `${name}[0]` : name, set: (message: Record<string, unknown>, value: string) => ({ ...message, [name]: repeated ? [value] : value }) }];
    if (f.type !== 'TYPE_MESSAGE') return [];
    if (depth >= 3) throw new Error(`${descriptor.name}.${f.name} nests messages deeper than the fuzzer follows`);
    // proto-loader names the type relative to the package ("ClaimMapping") or in full (".ocireg.admin.v1.ClaimMapping").
    const typeName = f.typeName.replace(/^\./, '');
    const key = Object.keys(definitions).find((k) => k === typeName || k.endsWith(`.${typeName}`));
    if (!key) throw new Error(`${descriptor.name}.${f.name}: no message type ${f.typeName} in the .proto files`);
    const nested = (definitions[key] as unknown as { type: MessageDescriptor }).type;
    // The nested message's defaults: each of its fields at its zero value (what decoding no bytes gives).
    const defaults = Object.fromEntries(nested.field.map((n) => [camel(n.name), n.label === 'LABEL_REPEATED' ? [] : n.type === 'TYPE_STRING' ? '' : n.type === 'TYPE_BOOL' ? false : n.type === 'TYPE_MESSAGE' ? undefined : 0]));
    return stringFieldsOf(definitions, nested, depth + 1).map((inner) => ({
      field: `${name}${repeated ? '[0]' : ''}.${inner.field}`,
      set: (message: Record<string, unknown>, value: string) => {
        const element = inner.set({ ...defaults }, value);
        return { ...message, [name]: repeated ? [element] : element };
      },
    }));
  });
}

const LONE_SURROGATE = /([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/;

/** Percent-encoding that also writes what a careless client sends for a lone surrogate (its three CESU-8 bytes). */
function urlEncoded(value: string): string {
  // split() with a capturing group: lone surrogates at the odd places.
  return value
    .split(LONE_SURROGATE)
    .map((part, index) => {
      if (index % 2 === 0) return encodeURIComponent(part);
      const unit = part.charCodeAt(0);
      return [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
    })
    .join('');
}
