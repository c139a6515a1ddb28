// The authorization matrix (docs/security.md), generated from one table per
// door: every identity against every internal gRPC method, every OCI and
// JSON route, and every admin call, each cell asserting the documented answer.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithToken, type RunningRegistry, type ServiceName, type UserToken } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, audit, auth, blobupload, immutableTags, indexer, metadata, retention, users, webhooks } from '@ocireg/proto';
import { adminPortClient, basicAuth, newWorkspace, recordSecret, startTestRegistry, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';

const SERVICES: ServiceName[] = ['gateway', 'auth', 'metadata', 'blob-upload', 'indexer', 'webhooks'];

// ---------------------------------------------------------------------------
// Door 1: the internal gRPC ports. Who may call each method (the documented table).
// ---------------------------------------------------------------------------
interface InternalService {
  service: Exclude<ServiceName, 'gateway'>;
  definition: ServiceDefinition;
  /** Allowed callers per method; "*" for every other method. */
  callers: Record<string, ServiceName[]>;
}
const INTERNAL: InternalService[] = [
  { service: 'auth', definition: auth.AuthServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'] } },
  { service: 'auth', definition: users.UserServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'] } },
  { service: 'metadata', definition: metadata.RegistryMetadataServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'], resolveRole: ['gateway', 'auth'], checkWorkspaceAdmin: ['auth', 'webhooks'], listUserWorkspaces: ['auth'], getSourceRepositoryRole: ['auth'], resolveSourceRepositoryPaths: ['auth'], applyIdentityProviderRoles: ['auth'], exportListingSnapshot: ['indexer'], recordPulls: ['gateway'], listPullTimes: ['gateway'] } },
  { service: 'metadata', definition: admin.AdminServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'] } },
  { service: 'metadata', definition: audit.AuditServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'] } },
  { service: 'metadata', definition: retention.RetentionServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'] } },
  { service: 'metadata', definition: immutableTags.ImmutableTagServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'] } },
  { service: 'blob-upload', definition: blobupload.BlobUploadServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'] } },
  { service: 'indexer', definition: indexer.IndexerServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'] } },
  { service: 'webhooks', definition: webhooks.WebhookServiceService as unknown as ServiceDefinition, callers: { '*': ['gateway'] } },
];

/** Calls `method` with a default (empty) request as `as` (a service's certificate, or none); resolves to the status and message. */
function callAs(registry: RunningRegistry, target: InternalService, method: string, as: ServiceName | 'no certificate'): Promise<{ code: number; details: string }> {
  const Client = makeGenericClientConstructor(target.definition, 'matrix');
  const tls = as === 'no certificate' ? registry.tlsDir('gateway') : registry.tlsDir(as);
  const ca = readFileSync(`${tls}/ca.crt`);
  const creds =
    as === 'no certificate'
      ? credentials.createSsl(ca, null, null, { checkServerIdentity: () => undefined })
      : credentials.createSsl(ca, readFileSync(`${tls}/tls.key`), readFileSync(`${tls}/tls.crt`), { checkServerIdentity: () => undefined });
  const client = new Client(registry.grpcAddresses[target.service], creds, { 'grpc.ssl_target_name_override': target.service, 'grpc.enable_retries': 0 }) as unknown as Record<string, (...args: unknown[]) => { end(): void }>;
  const definition = (target.definition as Record<string, { requestStream: boolean; requestDeserialize(buffer: Buffer): unknown }>)[method]!;
  const options = { deadline: Date.now() + 10_000 };
  return new Promise((resolve) => {
    const done = (err: ServiceError | null) => {
      (client as unknown as { close(): void }).close();
      resolve({ code: err?.code ?? status.OK, details: err?.details ?? '' });
    };
    if (definition.requestStream) client[method]!(new Metadata(), options, done).end();
    else client[method]!(definition.requestDeserialize(Buffer.alloc(0)), new Metadata(), options, done);
  });
}

// ---------------------------------------------------------------------------
// Door 2: the OCI and JSON routes. Effective access = token scopes AND role on the package.
// ---------------------------------------------------------------------------
type Role = 'read' | 'write' | 'admin';
interface Identity {
  name: string;
  role?: Role;
  scopes: string[];
  /** Valid credentials (false: revoked, expired, or none at all). */
  valid: boolean;
  anonymous?: boolean;
}
const ALL_SCOPES = ['read:package', 'write:package', 'admin:package'];
const IDENTITIES: Identity[] = [
  { name: 'anonymous', scopes: [], valid: false, anonymous: true },
  { name: 'read member', role: 'read', scopes: ALL_SCOPES, valid: true },
  { name: 'write member', role: 'write', scopes: ALL_SCOPES, valid: true },
  { name: 'admin member', role: 'admin', scopes: ALL_SCOPES, valid: true },
  { name: 'workspace admin', role: 'admin', scopes: ALL_SCOPES, valid: true },
  { name: 'admin member, read-only token', role: 'admin', scopes: ['read:package'], valid: true },
  { name: 'admin member, write token', role: 'admin', scopes: ['read:package', 'write:package'], valid: true },
  { name: 'admin of another workspace', scopes: ALL_SCOPES, valid: true },
  { name: 'revoked write member', role: 'write', scopes: ALL_SCOPES, valid: false },
  { name: 'expired write member', role: 'write', scopes: ALL_SCOPES, valid: false },
];

const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };
const SCOPE_RANK: Record<string, number> = { 'read:package': 1, 'write:package': 2, 'admin:package': 3 };
/**
 * The documented rule: what the identity's role and token together allow, at
 * least `level` (1 pull, 2 push / delete tag, 3 delete image). Deleting needs
 * the write scope whatever is deleted; the role decides what (Admin: images).
 */
function allows(who: Identity, level: number): boolean {
  if (!who.valid || !who.role) return false;
  return RANK[who.role] >= level && Math.max(0, ...who.scopes.map((s) => SCOPE_RANK[s] ?? 0)) >= Math.min(level, 2);
}

interface RouteCase {
  name: string;
  /** What the documented rule says: the status when allowed, and when not. */
  expect(who: Identity): number;
  run(who: Identity, headers: Record<string, string>): Promise<number>;
}

describe('authorization matrix', () => {
  let registry: RunningRegistry;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  const tokens = new Map<string, UserToken>();
  const headersOf = (who: Identity): Record<string, string> => (who.anonymous ? {} : { Authorization: basicAuth(tokens.get(who.name)!) });
  /** Per identity: a tag and a manifest of its own to delete. */
  const doomed = new Map<string, { tag: string; digest: string }>();
  let image: Awaited<ReturnType<OciHttp['pushImage']>>;

  beforeAll(async () => {
    registry = await startTestRegistry();
    ws = await newWorkspace(registry, 'matrix');
    other = await newWorkspace(registry, 'elsewhere');
    const api = new OciHttp(registry.gatewayUrl, basicAuth(ws.admin));
    image = await api.pushImage(`${ws.slug}/pkg`, 'v1');
    const adminClient = adminPortClient(registry, admin.AdminServiceClient);
    const userClient = adminPortClient(registry, users.UserServiceClient);
    const asOperator = { authorization: registry.operator.authorization };
    for (const who of IDENTITIES) {
      if (who.anonymous) continue;
      const home = who.name === 'admin of another workspace' ? other : ws;
      const created = await createUserWithToken(
        registry.adminAddress,
        { email: `${who.name.replace(/[^a-z]+/g, '-')}@${ws.slug}.example.com`, scopes: who.scopes, sourceRepositoryId: home.sourceRepositoryId, role: who.name === 'workspace admin' ? undefined : who.name === 'admin of another workspace' ? 'admin' : who.role, expiresInSeconds: who.name.startsWith('expired') ? 2 : 3600 },
        registry.operator.authorization,
      );
      recordSecret(created.token);
      tokens.set(who.name, created);
      if (who.name === 'workspace admin') await unaryCall(adminClient.addWorkspaceAdmin.bind(adminClient), { workspaceSlug: ws.slug, userId: created.userId }, asOperator);
      if (who.name.startsWith('revoked')) await unaryCall(userClient.revokeToken.bind(userClient), { tokenId: created.tokenId }, asOperator);
      // Something of its own to delete: a tag on the shared manifest, and a manifest only it would delete.
      const config = await api.pushBlob(`${ws.slug}/pkg`, Buffer.from(JSON.stringify({ owner: who.name, n: randomBytes(4).toString('hex') })), 'application/vnd.oci.image.config.v1+json');
      const own = await api.pushManifest(`${ws.slug}/pkg`, `own-${tokens.size}`, { ...image.document, config } as { mediaType: string });
      const tag = `del-${tokens.size}`;
      await api.pushManifest(`${ws.slug}/pkg`, tag, image.document);
      doomed.set(who.name, { tag, digest: own.digest });
    }
    adminClient.close();
    userClient.close();
    await new Promise((resolve) => setTimeout(resolve, 2500)); // the expired token expires
  });

  afterAll(async () => {
    await registry?.stop();
  });

  describe('internal gRPC: every method answers only the services the table names, and nobody without a certificate', () => {
    const cells = INTERNAL.flatMap((target) =>
      Object.keys(target.definition).flatMap((method) => [...SERVICES, 'no certificate' as const].map((as) => ({ target, method, as, allowed: as !== 'no certificate' && (target.callers[method] ?? target.callers['*']!).includes(as) }))),
    );
    it.each(cells.map((c) => [`${c.target.service} ${c.method} as ${c.as}: ${c.allowed ? 'allowed' : 'refused'}`, c] as const))('%s', async (_, cell) => {
      const answer = await callAs(registry, cell.target, cell.method, cell.as);
      if (cell.as === 'no certificate') expect(answer.code).toBe(status.UNAVAILABLE);
      else if (cell.allowed) expect(answer.details).not.toMatch(/may not call/);
      else expect(answer).toMatchObject({ code: status.PERMISSION_DENIED, details: expect.stringContaining('may not call') });
    });
  });

  describe('OCI and JSON routes: token scopes AND role on the package', () => {
    const pull = (who: Identity) => (allows(who, 1) ? 200 : 401);
    const routes: RouteCase[] = [
      { name: 'GET /v2/', expect: (who) => (who.valid ? 200 : 401), run: async (who) => (await fetch(`${registry.gatewayUrl}/v2/`, { headers: headersOf(who) })).status },
      { name: 'GET /healthz (the probes; tells nothing)', expect: () => 200, run: async (who) => (await fetch(`${registry.gatewayUrl}/healthz`, { headers: headersOf(who) })).status },
      { name: 'GET /readyz (the readiness probe; tells nothing)', expect: () => 200, run: async (who) => (await fetch(`${registry.gatewayUrl}/readyz`, { headers: headersOf(who) })).status },
      { name: 'HEAD manifest', expect: pull, run: async (who) => (await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/pkg/manifests/v1`, { method: 'HEAD', headers: headersOf(who) })).status },
      { name: 'GET blob', expect: pull, run: async (who) => (await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/pkg/blobs/${image.layer.digest}`, { headers: headersOf(who) })).status },
      { name: 'GET tags', expect: pull, run: async (who) => (await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/pkg/tags/list`, { headers: headersOf(who) })).status },
      { name: 'GET referrers', expect: pull, run: async (who) => (await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/pkg/referrers/${image.manifest.digest}`, { headers: headersOf(who) })).status },
      { name: 'POST upload', expect: (who) => (allows(who, 2) ? 202 : 401), run: async (who) => (await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/pkg/blobs/uploads/`, { method: 'POST', headers: headersOf(who) })).status },
      {
        name: 'DELETE tag',
        expect: (who) => (allows(who, 2) ? 202 : 401),
        run: async (who) => (await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/pkg/manifests/${doomed.get(who.name)?.tag ?? 'v1'}`, { method: 'DELETE', headers: headersOf(who) })).status,
      },
      {
        name: 'DELETE manifest',
        expect: (who) => (allows(who, 3) ? 202 : 401),
        run: async (who) => (await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/pkg/manifests/${doomed.get(who.name)?.digest ?? image.manifest.digest}`, { method: 'DELETE', headers: headersOf(who) })).status,
      },
      {
        name: 'catalog lists the package',
        expect: (who) => (!who.valid ? 401 : who.role ? 1 : 0),
        run: async (who) => {
          const response = await fetch(`${registry.gatewayUrl}/v2/_catalog?n=10000`, { headers: headersOf(who) });
          if (response.status !== 200) return response.status;
          return ((await response.json()) as { repositories: string[] }).repositories.includes(`${ws.slug}/pkg`) ? 1 : 0;
        },
      },
      {
        // The restore window (docs/lifecycle-restore.md): who may delete in the package sees its deletions.
        name: 'JSON recently deleted of the package',
        expect: (who) => (!who.valid ? 401 : allows(who, 2) ? 200 : who.role ? 403 : 404),
        run: async (who) => (await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${ws.slug}/images/pkg/-/deleted`, { headers: headersOf(who) })).status,
      },
      {
        name: 'JSON image details',
        expect: (who) => (!who.valid ? 401 : who.role ? 200 : 404),
        run: async (who) => (await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${ws.slug}/images/pkg`, { headers: headersOf(who) })).status,
      },
    ];
    const cells = routes.flatMap((route) => IDENTITIES.map((who) => ({ route, who })));
    it.each(cells.map((c) => [`${c.route.name} as ${c.who.name} -> ${c.route.expect(c.who)}`, c] as const))('%s', async (_, { route, who }) => {
      const answer = await route.run(who, headersOf(who));
      // A bad credential used again and again from one address answers 429 once past the failure limit (as on the admin port below).
      expect(!who.valid && !who.anonymous && answer === 429 ? 401 : answer).toBe(route.expect(who));
    });
  });

  describe('admin API (the gateway admin port): reads need a package scope and show only what the caller may see; changes need admin:package and the role', () => {
    type Who = 'operator' | 'workspace admin' | 'admin member' | 'admin member, read-only token' | 'read member' | 'admin of another workspace' | 'revoked write member' | 'no token';
    const WHO: Who[] = ['operator', 'workspace admin', 'admin member', 'admin member, read-only token', 'read member', 'admin of another workspace', 'revoked write member', 'no token'];
    const authorization = (who: Who) => (who === 'operator' ? registry.operator.authorization : who === 'no token' ? undefined : `Bearer ${tokens.get(who)!.token}`);
    const unique = () => `m${randomBytes(4).toString('hex')}`;
    type Outcome = 'OK' | 'DENIED' | 'NOT_FOUND' | 'UNAUTHORIZED';
    const readers = new Set<Who>(['operator', 'workspace admin', 'admin member', 'admin member, read-only token', 'read member']);
    const invalid = new Set<Who>(['revoked write member', 'no token']);
    /** A read: members (any package scope) see it; others do not find it. */
    const read = (who: Who): Outcome => (invalid.has(who) ? 'UNAUTHORIZED' : readers.has(who) ? 'OK' : 'NOT_FOUND');
    /** A change allowed to these (with admin:package): the rest are denied. */
    const change = (allowed: Who[]) => (who: Who): Outcome => (invalid.has(who) ? 'UNAUTHORIZED' : allowed.includes(who) ? 'OK' : 'DENIED');

    const calls: Array<{ name: string; expect: (who: Who) => Outcome; run: (who: Who) => Promise<unknown> }> = [];
    const a = () => adminPortClient(registry, admin.AdminServiceClient);
    const call = async <R>(client: { close(): void }, work: () => Promise<R>) => {
      try {
        return await work();
      } finally {
        client.close();
      }
    };
    const adminCall = (name: string, expectation: (who: Who) => Outcome, request: () => Record<string, unknown>) =>
      calls.push({
        name,
        expect: expectation,
        run: (who) => {
          const client = a();
          const method = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!.bind(client) as never;
          return call(client, () => unaryCall(method, request(), { authorization: authorization(who) }));
        },
      });
    adminCall('getWorkspace', read, () => ({ slug: ws.slug }));
    adminCall('listProjects', read, () => ({ workspaceSlug: ws.slug, pageSize: 10, pageToken: '' }));
    adminCall('listRepositories', read, () => ({ workspaceSlug: ws.slug, projectSlug: '', pageSize: 10, pageToken: '' }));
    adminCall('getRepository', read, () => ({ sourceRepositoryId: ws.sourceRepositoryId }));
    adminCall('listMemberships', read, () => ({ sourceRepositoryId: ws.sourceRepositoryId }));
    adminCall('listPackages', read, () => ({ workspaceSlug: ws.slug, pageSize: 10, pageToken: '' }));
    adminCall('getPackage', read, () => ({ workspaceSlug: ws.slug, name: 'pkg' }));
    adminCall('getStorageUsage', read, () => ({ workspaceSlug: ws.slug }));
    adminCall('listImages', (who) => (read(who) === 'NOT_FOUND' ? 'NOT_FOUND' : read(who)), () => ({ workspaceSlug: ws.slug, projectSlug: '', sourceRepositoryId: '', namePrefix: '', sort: 0, pageSize: 10, pageToken: '' }));
    adminCall('createProject', change(['operator', 'workspace admin']), () => ({ requestId: '', workspaceSlug: ws.slug, slug: unique(), name: '' }));
    adminCall('updateRepository', change(['operator', 'workspace admin', 'admin member']), () => ({ sourceRepositoryId: ws.sourceRepositoryId, name: 'App' }));
    adminCall('createPackage', change(['operator', 'workspace admin', 'admin member']), () => ({ requestId: '', workspaceSlug: ws.slug, name: unique(), sourceRepositoryId: ws.sourceRepositoryId, actorUserId: '' }));
    adminCall('setMembership', change(['operator', 'workspace admin', 'admin member']), () => ({ sourceRepositoryId: ws.sourceRepositoryId, userId: tokens.get('read member')!.userId, role: admin.Role.ROLE_READ }));
    adminCall('createWorkspace', change(['operator']), () => ({ requestId: '', slug: unique(), name: '', organization: 'x' }));
    adminCall('getGcStatus', change(['operator']), () => ({}));
    adminCall('runGc', change(['operator']), () => ({ dryRun: true, sweep: false }));
    // The restore window: a package's deletions to who may delete in it (write:package or admin:package and Write),
    // a workspace's to its admins; restoring a tag deletion as listing (each caller restores one of its own).
    adminCall('listDeleted', (who) => (who === 'admin of another workspace' ? 'NOT_FOUND' : change(['operator', 'workspace admin', 'admin member'])(who)), () => ({ workspaceSlug: ws.slug, name: 'pkg' }));
    calls.push({
      name: 'listDeleted of the workspace',
      expect: change(['operator', 'workspace admin']),
      run: (who) => {
        const client = a();
        return call(client, () => unaryCall(client.listDeleted.bind(client), { workspaceSlug: ws.slug, name: '' }, { authorization: authorization(who) }));
      },
    });
    calls.push({
      name: 'restoreDeletion',
      expect: (who) => (who === 'admin of another workspace' ? 'NOT_FOUND' : change(['operator', 'workspace admin', 'admin member'])(who)),
      run: async (who) => {
        const tag = `restore-${unique()}`;
        const oci = new OciHttp(registry.gatewayUrl, basicAuth(ws.admin));
        await oci.pushManifest(`${ws.slug}/pkg`, tag, image.document);
        const deleted = await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/pkg/manifests/${tag}`, { method: 'DELETE', headers: { Authorization: basicAuth(ws.admin) } });
        expect(deleted.status).toBe(202);
        const client = a();
        return call(client, async () => {
          const listed = await unaryCall(client.listDeleted.bind(client), { workspaceSlug: ws.slug, name: 'pkg' }, { authorization: registry.operator.authorization });
          const deletion = listed.deletions.find((d) => d.tags.some((t) => t.tag === tag))!;
          return unaryCall(client.restoreDeletion.bind(client), { workspaceSlug: ws.slug, deletionId: deletion.id }, { authorization: authorization(who) });
        });
      },
    });
    const auditCall = (name: string, expectation: (who: Who) => Outcome, request: (client: audit.AuditServiceClient, who: Who) => Promise<unknown>) =>
      calls.push({
        name,
        expect: expectation,
        run: (who) => {
          const client = adminPortClient(registry, audit.AuditServiceClient);
          return call(client, () => request(client, who));
        },
      });
    const auditFilters = { actor: '', action: '', target: '', outcome: '', since: '', until: '', pageSize: 10, pageToken: '' };
    // The audit log: a workspace's to its admins (and operators), the whole log and verify to operators.
    auditCall('AuditService.listAuditEntries of the workspace', change(['operator', 'workspace admin']), (c, who) => unaryCall(c.listAuditEntries.bind(c), { ...auditFilters, workspaceSlug: ws.slug }, { authorization: authorization(who) }));
    auditCall('AuditService.listAuditEntries of every workspace', change(['operator']), (c, who) => unaryCall(c.listAuditEntries.bind(c), { ...auditFilters, workspaceSlug: '' }, { authorization: authorization(who) }));
    // Webhooks: a workspace's to its admins (and operators).
    calls.push({
      name: 'WebhookService.listWebhooks',
      expect: change(['operator', 'workspace admin']),
      run: (who) => {
        const client = adminPortClient(registry, webhooks.WebhookServiceClient);
        return call(client, () => unaryCall(client.listWebhooks.bind(client), { workspaceSlug: ws.slug }, { authorization: authorization(who) }));
      },
    });
    // Immutable tag rules (issue 24): workspace and project rules are the workspace admins', source repository and
    // package rules the repository's Admins' too; whoever sees a scope lists its rules.
    const Level = immutableTags.ImmutableTagRuleLevel;
    const ruleScope = (level: immutableTags.ImmutableTagRuleLevel, more: Partial<immutableTags.ImmutableTagRuleScope> = {}) => ({ workspaceSlug: ws.slug, level, projectSlug: '', sourceRepositoryId: '', packageName: '', ...more });
    const immutableCall = (name: string, expectation: (who: Who) => Outcome, request: (client: immutableTags.ImmutableTagServiceClient, who: Who) => Promise<unknown>) =>
      calls.push({
        name,
        expect: expectation,
        run: (who) => {
          const client = adminPortClient(registry, immutableTags.ImmutableTagServiceClient);
          return call(client, () => request(client, who));
        },
      });
    immutableCall('ImmutableTagService.createImmutableTagRule of the workspace', change(['operator', 'workspace admin']), (c, who) =>
      unaryCall(c.createImmutableTagRule.bind(c), { scope: ruleScope(Level.IMMUTABLE_TAG_RULE_LEVEL_WORKSPACE), pattern: `${unique()}-*` }, { authorization: authorization(who) }));
    immutableCall('ImmutableTagService.createImmutableTagRule of the source repository', change(['operator', 'workspace admin', 'admin member']), (c, who) =>
      unaryCall(c.createImmutableTagRule.bind(c), { scope: ruleScope(Level.IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY, { sourceRepositoryId: ws.sourceRepositoryId }), pattern: `${unique()}-*` }, { authorization: authorization(who) }));
    immutableCall('ImmutableTagService.createImmutableTagRule of the package', change(['operator', 'workspace admin', 'admin member']), (c, who) =>
      unaryCall(c.createImmutableTagRule.bind(c), { scope: ruleScope(Level.IMMUTABLE_TAG_RULE_LEVEL_PACKAGE, { packageName: 'pkg' }), pattern: `${unique()}-*` }, { authorization: authorization(who) }));
    immutableCall('ImmutableTagService.listImmutableTagRules', read, (c, who) => unaryCall(c.listImmutableTagRules.bind(c), { scope: ruleScope(Level.IMMUTABLE_TAG_RULE_LEVEL_UNSPECIFIED) }, { authorization: authorization(who) }));
    immutableCall('ImmutableTagService.getEffectiveImmutableTagRules', read, (c, who) => unaryCall(c.getEffectiveImmutableTagRules.bind(c), { workspaceSlug: ws.slug, packageName: 'pkg' }, { authorization: authorization(who) }));
    // Deleting a rule on the repository (made by the operator for each caller): its Admins; a caller who may not see the workspace does not find it.
    immutableCall('ImmutableTagService.deleteImmutableTagRule of the source repository', (who) => (who === 'admin of another workspace' ? 'NOT_FOUND' : change(['operator', 'workspace admin', 'admin member'])(who)), async (c, who) => {
      const { rule } = await unaryCall(c.createImmutableTagRule.bind(c), { scope: ruleScope(Level.IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY, { sourceRepositoryId: ws.sourceRepositoryId }), pattern: `${unique()}-*` }, { authorization: registry.operator.authorization });
      return unaryCall(c.deleteImmutableTagRule.bind(c), { workspaceSlug: ws.slug, id: rule!.id }, { authorization: authorization(who) });
    });
    auditCall('AuditService.verifyAuditLog', change(['operator']), (c, who) => unaryCall(c.verifyAuditLog.bind(c), {}, { authorization: authorization(who) }));
    calls.push({
      name: 'UserService.createUser',
      expect: change(['operator']),
      run: (who) => {
        const client = adminPortClient(registry, users.UserServiceClient);
        return call(client, () => unaryCall(client.createUser.bind(client), { email: `${unique()}@example.com`, displayName: '' }, { authorization: authorization(who) }));
      },
    });

    // Retention rules (issue 24): workspace and project rules by workspace admins, package rules by the repository's
    // Admins, previews by readers; a caller who may not see the level finds nothing there (NOT_FOUND), a reader is DENIED.
    const hiddenChange = (allowed: Who[]) => (who: Who): Outcome => (invalid.has(who) ? 'UNAUTHORIZED' : allowed.includes(who) ? 'OK' : readers.has(who) ? 'DENIED' : 'NOT_FOUND');
    const retentionCall = (name: keyof retention.RetentionServiceClient & string, expectation: (who: Who) => Outcome, request: () => Record<string, unknown>, label = '') =>
      calls.push({
        name: `RetentionService.${name}${label}`,
        expect: expectation,
        run: (who) => {
          const client = adminPortClient(registry, retention.RetentionServiceClient);
          const method = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!.bind(client) as never;
          return call(client, () => unaryCall(method, request(), { authorization: authorization(who) }));
        },
      });
    const scope = (level: string) => ({ level, workspaceSlug: ws.slug, projectSlug: '', sourceRepositoryId: level === 'source-repository' ? ws.sourceRepositoryId : '', packageName: level === 'package' ? 'pkg' : '' });
    // Protect rules only: an apply in this matrix deletes nothing the other cells need.
    retentionCall('createRetentionRule', hiddenChange(['operator', 'workspace admin']), () => ({ scope: scope('workspace'), kind: 'protect', pattern: 'v*', count: 0, days: 0 }), ' at the workspace');
    retentionCall('createRetentionRule', hiddenChange(['operator', 'workspace admin', 'admin member']), () => ({ scope: scope('package'), kind: 'protect', pattern: 'del-*', count: 0, days: 0 }), ' at the package');
    retentionCall('listRetentionRules', read, () => ({ scope: scope('workspace') }));
    retentionCall('getEffectiveRetentionRules', read, () => ({ workspaceSlug: ws.slug, packageName: 'pkg' }));
    retentionCall('previewRetention', read, () => ({ scope: scope('package') }));
    retentionCall('applyRetention', hiddenChange(['operator', 'workspace admin', 'admin member']), () => ({ workspaceSlug: ws.slug, packageName: 'pkg', confirm: false }));

    // A read-only token sees, but never changes; a reader who is no member of the repository finds nothing.
    const normalise = (outcome: Outcome, who: Who, name: string): Outcome => {
      if (who === 'admin member, read-only token' && outcome === 'OK' && !['getWorkspace', 'listProjects', 'listRepositories', 'getRepository', 'listMemberships', 'listPackages', 'getPackage', 'getStorageUsage', 'listImages', 'RetentionService.listRetentionRules', 'RetentionService.getEffectiveRetentionRules', 'RetentionService.previewRetention', 'ImmutableTagService.listImmutableTagRules', 'ImmutableTagService.getEffectiveImmutableTagRules'].includes(name)) return 'DENIED';
      return outcome;
    };
    const cells = calls.flatMap((c) => WHO.map((who) => ({ c, who, expected: normalise(c.expect(who), who, c.name) })));
    it.each(cells.map((cell) => [`${cell.c.name} as ${cell.who} -> ${cell.expected}`, cell] as const))('%s', async (_, { c, who, expected }) => {
      const outcome = await c.run(who).then(
        () => 'OK',
        // A bad credential used again and again from one address answers 429 once past the failure limit.
        (err: { code?: string }) => (err.code === 'NAME_UNKNOWN' ? 'NOT_FOUND' : err.code === 'TOOMANYREQUESTS' ? 'UNAUTHORIZED' : err.code),
      );
      expect(outcome).toBe(expected);
    });
  });
});
