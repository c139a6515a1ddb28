// Regression tests for the trust-boundary findings (issue 12), each reproduced
// the way it was found: as an attacker on the same network, a user with too
// little access, or a client sending bad input.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { createUserWithToken, type RunningRegistry, type UserToken } from '@ocireg/devstack';
import { createGrpcClient, unaryCall } from '@ocireg/grpc';
import { ensureServiceTls } from '@ocireg/pki';
import { admin, indexer, metadata, users } from '@ocireg/proto';
import { TlsMaterial } from '@ocireg/service-identity';
import { adminPortClient, basicAuth, internalClient, newWorkspace, recordSecret, startTestRegistry, tempDir, type TestWorkspace } from './helpers';
import { OciHttp } from './oci-http';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const randomDigest = () => `sha256:${randomBytes(32).toString('hex')}`;

interface OciErrors {
  errors: Array<{ code: string; message: string; detail?: unknown }>;
}

describe('trust boundaries', () => {
  let registry: RunningRegistry;
  let workspace: TestWorkspace;

  beforeAll(async () => {
    // 127.0.0.1 is the trusted proxy, so tests can speak for clients at other addresses with X-Forwarded-For.
    registry = await startTestRegistry({ TRUSTED_PROXY_CIDRS: '127.0.0.1/32', MAX_UPLOAD_SESSIONS_PER_USER: '20' });
    workspace = await newWorkspace(registry);
  });

  afterAll(async () => {
    await registry?.stop();
  });

  const user = async (name: string, scopes: string[], role?: 'read' | 'write' | 'admin', sourceRepositoryId = workspace.sourceRepositoryId): Promise<UserToken> => {
    const created = await createUserWithToken(registry.adminAddress, { email: `${name}-${randomBytes(3).toString('hex')}@${workspace.slug}.example.com`, scopes, sourceRepositoryId, role }, registry.operator.authorization);
    recordSecret(created.token);
    return created;
  };
  const v2 = (path: string, init: RequestInit = {}) => fetch(`${registry.gatewayUrl}/v2/${path}`, init);
  const errorsOf = async (response: Response) => ((await response.json()) as OciErrors).errors;

  describe('1: internal gRPC answers only the services each method is for', () => {
    it('refuses plaintext callers, callers without a certificate and callers with a certificate of another CA', async () => {
      const request: metadata.PutManifestRequest = metadata.PutManifestRequest.fromPartial({ name: `${workspace.slug}/app`, tags: ['evil'], mediaType: OCI_MANIFEST, content: Buffer.from('{}'), digest: digestOf(Buffer.from('{}')) });
      const plaintext = createGrpcClient(metadata.RegistryMetadataServiceClient, registry.grpcAddresses.metadata, { kind: 'public' });
      const serverOnly = createGrpcClient(metadata.RegistryMetadataServiceClient, registry.grpcAddresses.metadata, { kind: 'public', ca: new TlsMaterial(registry.tlsDir('gateway')).current().ca });
      const foreignDirs = await ensureServiceTls(tempDir('foreign-ca'), ['gateway']);
      const foreign = createGrpcClient(metadata.RegistryMetadataServiceClient, registry.grpcAddresses.metadata, { kind: 'internal', tls: new TlsMaterial(foreignDirs.gateway!), service: 'metadata' });
      try {
        for (const client of [plaintext, serverOnly, foreign]) {
          await expect(unaryCall(client.putManifest.bind(client), request, { deadlineMs: 5000 })).rejects.toMatchObject({ grpcStatus: status.UNAVAILABLE });
        }
      } finally {
        for (const client of [plaintext, serverOnly, foreign]) client.close();
      }
    });

    it('refuses a service the method is not for: blob-upload cannot store manifests, the gateway cannot export the snapshot, nobody but the gateway lists images', async () => {
      const asBlobUpload = internalClient(registry, metadata.RegistryMetadataServiceClient, 'metadata', 'blob-upload');
      const asGateway = internalClient(registry, metadata.RegistryMetadataServiceClient, 'metadata', 'gateway');
      const indexerAsAuth = internalClient(registry, indexer.IndexerServiceClient, 'indexer', 'auth');
      try {
        await expect(unaryCall(asBlobUpload.deleteTag.bind(asBlobUpload), { name: `${workspace.slug}/app`, tag: 'v1' })).rejects.toMatchObject({ code: 'DENIED', grpcStatus: status.PERMISSION_DENIED });
        await expect(unaryCall(asGateway.exportListingSnapshot.bind(asGateway), { pageSize: 1, pageToken: '' })).rejects.toMatchObject({ code: 'DENIED' });
        await expect(
          unaryCall(indexerAsAuth.listImages.bind(indexerAsAuth), { workspace: workspace.slug, project: '', sourceRepositoryId: '', namePrefix: '', sort: 0, pageSize: 10, pageToken: '', visibility: { allPackages: true, sourceRepositoryIds: [], packageNames: [] } }),
        ).rejects.toMatchObject({ code: 'DENIED' });
      } finally {
        for (const client of [asBlobUpload, asGateway, indexerAsAuth]) client.close();
      }
    });

    it('answers admin calls at metadata only with a user assertion auth signed, even from the gateway', async () => {
      const asGateway = internalClient(registry, admin.AdminServiceClient, 'metadata', 'gateway');
      try {
        await expect(unaryCall(asGateway.getWorkspace.bind(asGateway), { slug: workspace.slug })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
        // An API token is not an assertion: metadata never checks tokens itself.
        await expect(unaryCall(asGateway.getWorkspace.bind(asGateway), { slug: workspace.slug }, { authorization: registry.operator.authorization })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      } finally {
        asGateway.close();
      }
    });
  });

  describe('2: a token never mints a stronger one', () => {
    const createToken = (creator: UserToken, scopes: string[], expiresInSeconds = 600) => {
      const client = adminPortClient(registry, users.UserServiceClient);
      return unaryCall(client.createToken.bind(client), { userId: creator.email, name: 'child', expiresInSeconds, scopes }, { authorization: `Bearer ${creator.token}` }).finally(() => client.close());
    };

    it('refuses tokens without admin:token, more scopes than the creator has, or a later expiry', async () => {
      const readOnly = await user('minter', ['read:package'], 'admin');
      await expect(createToken(readOnly, ['read:package', 'write:package', 'admin:package'], 365 * 86_400)).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('admin:token') });
      const reader = await user('minter2', ['read:package', 'admin:token'], 'admin');
      await expect(createToken(reader, ['read:package', 'write:package'])).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('write:package') });
      await expect(createToken(reader, ['read:package'], 30 * 86_400)).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('outlive') });
    });

    it('creates a token within its creator, and revoking the creator revokes it', async () => {
      const writer = await user('parent', ['read:package', 'write:package', 'admin:token'], 'write');
      const child = await createToken(writer, ['read:package', 'write:package']);
      recordSecret(child.secret);
      expect(child.token).toMatchObject({ parentTokenId: writer.tokenId, scopes: ['read:package', 'write:package'] });
      const asChild = `Basic ${Buffer.from(`${writer.email}:${child.secret}`).toString('base64')}`;
      expect((await v2('', { headers: { Authorization: asChild } })).status).toBe(200);

      const client = adminPortClient(registry, users.UserServiceClient);
      await unaryCall(client.revokeToken.bind(client), { tokenId: writer.tokenId }, { authorization: `Bearer ${writer.token}` });
      const tokens = await unaryCall(client.listTokens.bind(client), { userId: writer.email }, { authorization: registry.operator.authorization }).finally(() => client.close());
      expect(tokens.tokens.find((t) => t.id === child.token!.id)?.revokedAt).toBeTruthy();
      const fresh = await fetch(`${registry.gatewayUrl}/v2/token`, { headers: { Authorization: asChild } });
      expect(fresh.status).toBe(401);
    });

    it('lets a user revoke their own token but not look at or revoke anyone else\'s', async () => {
      const alice = await user('alice', ['read:package'], 'read');
      const bob = await user('bob', ['read:package'], 'read');
      const client = adminPortClient(registry, users.UserServiceClient);
      try {
        await expect(unaryCall(client.revokeToken.bind(client), { tokenId: alice.tokenId }, { authorization: `Bearer ${bob.token}` })).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await expect(unaryCall(client.listTokens.bind(client), { userId: alice.email }, { authorization: `Bearer ${bob.token}` })).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await unaryCall(client.revokeToken.bind(client), { tokenId: bob.tokenId }, { authorization: `Bearer ${bob.token}` });
      } finally {
        client.close();
      }
    });
  });

  describe('3: one manifest cannot stall the registry', () => {
    it('answers 10,000 unknown layers with a bounded 404 in under a second while another workspace keeps pulling', async () => {
      const other = await newWorkspace(registry);
      const otherApi = new OciHttp(registry.gatewayUrl, basicAuth(other.admin));
      const pushed = await otherApi.pushImage(`${other.slug}/steady`, 'v1');
      const pullOnce = async () => {
        const started = performance.now();
        const response = await fetch(`${registry.gatewayUrl}/v2/${other.slug}/steady/manifests/v1`, { headers: { Authorization: basicAuth(other.admin), Accept: OCI_MANIFEST } });
        await response.arrayBuffer();
        return { status: response.status, ms: performance.now() - started };
      };

      const api = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
      const config = await api.pushBlob(`${workspace.slug}/flood`, Buffer.from('{}'), 'application/vnd.oci.image.config.v1+json');
      const layers = Array.from({ length: 10_000 }, () => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: randomDigest(), size: 1024 }));
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers }));
      const flood = async () => {
        const started = performance.now();
        const response = await fetch(`${registry.gatewayUrl}/v2/${workspace.slug}/flood/manifests/v1`, { method: 'PUT', headers: { Authorization: basicAuth(workspace.admin), 'Content-Type': OCI_MANIFEST }, body });
        const text = await response.text();
        return { status: response.status, ms: performance.now() - started, text };
      };

      for (let i = 0; i < 5; i++) await pullOnce(); // warm
      await flood(); // and once through the manifest path, so the timings below are not the first call's
      const baseline = (await Promise.all(Array.from({ length: 10 }, pullOnce))).map((p) => p.ms).sort((a, b) => a - b);
      let flooding = true;
      const during: Array<{ status: number; ms: number }> = [];
      const puller = (async () => {
        while (flooding) during.push(await pullOnce());
      })();
      const floods = [];
      for (let round = 0; round < 3; round++) floods.push(await flood());
      flooding = false;
      await puller;

      console.log(`flood PUTs (ms): ${floods.map((f) => Math.round(f.ms)).join(', ')}; pulls: baseline p100 ${Math.round(baseline[baseline.length - 1]!)} ms, during max ${Math.round(Math.max(...during.map((p) => p.ms)))} ms`);
      // Under a second (the median of three: the test shares two cores with the rest of the suite).
      expect(floods.map((f) => f.ms).sort((a, b) => a - b)[1]).toBeLessThan(1000);
      for (const result of floods) {
        expect(result.status).toBe(404);
        expect(result.text.length).toBeLessThan(4096);
        const [error] = (JSON.parse(result.text) as OciErrors).errors;
        expect(error).toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN', detail: { missingTotal: 10_000 } });
        expect((error!.detail as { missing: string[] }).missing).toHaveLength(10);
      }
      expect(during.length).toBeGreaterThan(3);
      expect(during.every((p) => p.status === 200)).toBe(true);
      const slowest = Math.max(...during.map((p) => p.ms));
      // Flat: the other tenant's pulls stay within a small multiple of their own baseline, far from the 24-30 s seen before.
      expect(slowest).toBeLessThan(Math.max(20 * baseline[baseline.length - 1]!, 750));
      expect(pushed.manifest.digest).toMatch(/^sha256:/);
    });
  });

  describe('4: strangers cannot lock users out', () => {
    const tokenFrom = (address: string, email: string, secret: string) =>
      fetch(`${registry.gatewayUrl}/v2/token`, { headers: { Authorization: `Basic ${Buffer.from(`${email}:${secret}`).toString('base64')}`, 'X-Forwarded-For': address } });

    it("throttles a stranger's guesses at an account from their address; the user elsewhere, and the right token anywhere, still work", async () => {
      const victim = await user('victim', ['read:package'], 'read');
      const attacker = `203.0.113.${1 + Math.floor(Math.random() * 200)}`;
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await tokenFrom(attacker, victim.email, `ocireg_${'0'.repeat(16)}_${'A'.repeat(43)}`)).status);
      expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(10)).toEqual([429, 429]);
      expect((await tokenFrom('198.51.100.20', victim.email, victim.token)).status).toBe(200);
      expect((await tokenFrom(attacker, victim.email, victim.token)).status).toBe(200);
    });

    it('throttles an address that guesses at many accounts, without refusing a correct token from it', async () => {
      const shared = `192.0.2.${1 + Math.floor(Math.random() * 200)}`;
      const statuses: number[] = [];
      for (let i = 0; i < 101; i++) statuses.push((await tokenFrom(shared, `nobody${i}@example.com`, 'wrong')).status);
      expect(statuses.slice(0, 100).every((s) => s === 401)).toBe(true);
      expect(statuses[100]).toBe(429);
      const colleague = await user('colleague', ['read:package'], 'read');
      expect((await tokenFrom(shared, colleague.email, colleague.token)).status).toBe(200);
    });
  });

  describe('5: nobody sees a package they have no role on', () => {
    it('filters the catalog, the JSON listing API and the admin API per package, and a hidden package answers like a missing one', async () => {
      const ws = await newWorkspace(registry);
      const api = new OciHttp(registry.gatewayUrl, basicAuth(ws.admin));
      const operatorAdmin = adminPortClient(registry, admin.AdminServiceClient);
      const asOperator = { authorization: registry.operator.authorization };
      const { sourceRepository: secret } = await unaryCall(operatorAdmin.createSourceRepository.bind(operatorAdmin), { requestId: '', workspaceSlug: ws.slug, projectSlug: 'main', slug: 'secret', name: '' }, asOperator);
      // The pusher administers the whole workspace, so it sees every package.
      await unaryCall(operatorAdmin.addWorkspaceAdmin.bind(operatorAdmin), { workspaceSlug: ws.slug, userId: ws.admin.userId }, asOperator);
      for (const [name, sourceRepositoryId] of [['visible', ws.sourceRepositoryId], ['hidden', secret!.id], ['granted', secret!.id]] as const) {
        await unaryCall(operatorAdmin.createPackage.bind(operatorAdmin), { requestId: '', workspaceSlug: ws.slug, name, sourceRepositoryId, actorUserId: '' }, asOperator);
        await api.pushImage(`${ws.slug}/${name}`, 'v1');
      }
      const reader = await createUserWithToken(registry.adminAddress, { email: `reader@${ws.slug}.example.com`, scopes: ['read:package'], sourceRepositoryId: ws.sourceRepositoryId, role: 'read' }, registry.operator.authorization);
      const granted = await createUserWithToken(registry.adminAddress, { email: `granted@${ws.slug}.example.com`, scopes: ['read:package'] }, registry.operator.authorization);
      recordSecret(reader.token);
      recordSecret(granted.token);
      await unaryCall(operatorAdmin.setPackageGrant.bind(operatorAdmin), { workspaceSlug: ws.slug, name: 'granted', userId: granted.userId, role: admin.Role.ROLE_READ }, asOperator);

      const catalog = async (who: UserToken) => ((await (await v2('_catalog?n=1000', { headers: { Authorization: basicAuth(who) } })).json()) as { repositories: string[] }).repositories.filter((r) => r.startsWith(`${ws.slug}/`));
      expect(await catalog(reader)).toEqual([`${ws.slug}/visible`]);
      expect(await catalog(granted)).toEqual([`${ws.slug}/granted`]);
      expect(await catalog(ws.admin)).toEqual([`${ws.slug}/granted`, `${ws.slug}/hidden`, `${ws.slug}/visible`]);

      const listing = (who: UserToken, path = '') => fetch(`${registry.gatewayUrl}/api/v1/workspaces/${ws.slug}/images${path}`, { headers: { Authorization: basicAuth(who) } });
      const names = async (who: UserToken) => {
        for (let i = 0; i < 300; i++) {
          const body = (await (await listing(who)).json()) as { images: Array<{ name: string }> };
          if (who !== ws.admin || body.images.length === 3) return body.images.map((image) => image.name);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error('listing never caught up');
      };
      expect(await names(ws.admin)).toEqual(['granted', 'hidden', 'visible']);
      expect(await names(reader)).toEqual(['visible']);
      expect(await names(granted)).toEqual(['granted']);
      const hidden = await listing(reader, '/hidden');
      const missing = await listing(reader, '/no-such-image');
      expect([hidden.status, (await errorsOf(hidden))[0]!.code]).toEqual([missing.status, (await errorsOf(missing))[0]!.code]);
      expect((await listing(reader, '/hidden/-/tags/v1')).status).toBe(404);
      expect((await listing(reader, '/visible')).status).toBe(200);

      const readerAdmin = { authorization: `Bearer ${reader.token}` };
      const images = await unaryCall(operatorAdmin.listImages.bind(operatorAdmin), { workspaceSlug: ws.slug, projectSlug: '', sourceRepositoryId: '', namePrefix: '', sort: 0, pageSize: 50, pageToken: '' }, readerAdmin);
      expect(images.images.map((i) => i.name)).toEqual(['visible']);
      await expect(unaryCall(operatorAdmin.getImage.bind(operatorAdmin), { workspaceSlug: ws.slug, name: 'hidden' }, readerAdmin)).rejects.toMatchObject({ code: 'NAME_UNKNOWN' });
      expect((await unaryCall(operatorAdmin.listPackages.bind(operatorAdmin), { workspaceSlug: ws.slug, pageSize: 50, pageToken: '' }, readerAdmin)).packages.map((p) => p.name)).toEqual(['visible']);
      expect((await unaryCall(operatorAdmin.listSourceRepositories.bind(operatorAdmin), { workspaceSlug: ws.slug, projectSlug: '', pageSize: 50, pageToken: '' }, readerAdmin)).sourceRepositories.map((r) => r.slug)).toEqual(['app']);
      await expect(unaryCall(operatorAdmin.listMemberships.bind(operatorAdmin), { sourceRepositoryId: secret!.id }, readerAdmin)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(unaryCall(operatorAdmin.getPackage.bind(operatorAdmin), { workspaceSlug: ws.slug, name: 'hidden' }, readerAdmin)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const grantedAdmin = { authorization: `Bearer ${granted.token}` };
      expect((await unaryCall(operatorAdmin.listPackages.bind(operatorAdmin), { workspaceSlug: ws.slug, pageSize: 50, pageToken: '' }, grantedAdmin)).packages.map((p) => p.name)).toEqual(['granted']);
      await expect(unaryCall(operatorAdmin.listMemberships.bind(operatorAdmin), { sourceRepositoryId: secret!.id }, grantedAdmin)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      operatorAdmin.close();
    });
  });

  describe('6: creating a package on push takes Write on the default repository', () => {
    it('refuses a Write member of another repository', async () => {
      const operatorAdmin = adminPortClient(registry, admin.AdminServiceClient);
      const { sourceRepository: elsewhere } = await unaryCall(operatorAdmin.createSourceRepository.bind(operatorAdmin), { requestId: '', workspaceSlug: workspace.slug, projectSlug: 'main', slug: `elsewhere-${randomBytes(3).toString('hex')}`, name: '' }, { authorization: registry.operator.authorization });
      operatorAdmin.close();
      const outsider = await user('outsider', ['read:package', 'write:package'], 'write', elsewhere!.id);
      const response = await v2(`${workspace.slug}/sneaky-${randomBytes(3).toString('hex')}/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuth(outsider) } });
      expect(response.status).toBe(401);
      expect((await errorsOf(response))[0]!.code).toBe('DENIED');
      const member = await user('member', ['read:package', 'write:package'], 'write');
      expect((await v2(`${workspace.slug}/allowed-${randomBytes(3).toString('hex')}/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuth(member) } })).status).toBe(202);
    });
  });

  describe('8 and 9: bad input answers 4xx, never 500, and non-manifests are refused', () => {
    it('answers 400 for NUL markers, absurd page sizes, bad n and bad grant types', async () => {
      const auth = { Authorization: basicAuth(workspace.admin) };
      const api = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
      await api.pushImage(`${workspace.slug}/inputs`, 'v1');
      // A NUL is refused as text, before any route reads it (text-input.ts); a bad n is a bad page size.
      for (const path of [`${workspace.slug}/inputs/tags/list?last=%00`, '_catalog?last=%00']) {
        const response = await v2(path, { headers: auth });
        expect(response.status, path).toBe(400);
        expect((await errorsOf(response))[0], path).toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'last' } });
      }
      for (const path of [`${workspace.slug}/inputs/tags/list?n=abc`, '_catalog?n=-1']) {
        const response = await v2(path, { headers: auth });
        expect(response.status, path).toBe(400);
        expect((await errorsOf(response))[0]!.code, path).toBe('PAGINATION_NUMBER_INVALID');
      }
      const huge = await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${workspace.slug}/images?page_size=2147483648`, { headers: auth });
      expect(huge.status).toBe(400);
      const grant = await fetch(`${registry.gatewayUrl}/v2/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
      expect(grant.status).toBe(400);
    });

    it('never answers 500 when a manifest is deleted while a tag is pushed onto it', async () => {
      const api = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
      const repository = `${workspace.slug}/racing`;
      const { document } = await api.pushImage(repository, 'base');
      const content = Buffer.from(JSON.stringify(document));
      const digest = digestOf(content);
      const statuses = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const put = fetch(`${registry.gatewayUrl}/v2/${repository}/manifests/t${i}`, { method: 'PUT', headers: { Authorization: basicAuth(workspace.admin), 'Content-Type': OCI_MANIFEST }, body: content });
        const del = fetch(`${registry.gatewayUrl}/v2/${repository}/manifests/${digest}`, { method: 'DELETE', headers: { Authorization: basicAuth(workspace.admin) } });
        for (const response of await Promise.all([put, del])) {
          statuses.add(response.status);
          await response.arrayBuffer();
        }
      }
      expect([...statuses].every((s) => [201, 202, 404].includes(s)), [...statuses].join(',')).toBe(true);
    });

    type Config = { mediaType: string; digest: string; size: number };
    it.each<[string, (config: Config) => unknown, string]>([
      ['a JSON object of no manifest type', () => ({ hello: 'world' }), OCI_MANIFEST],
      ['a schema version alone', () => ({ schemaVersion: 2 }), OCI_MANIFEST],
      ['a mediaType that disagrees with Content-Type', (config) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] }), 'application/vnd.docker.distribution.manifest.v2+json'],
      ['a config descriptor of the wrong size', (config) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...config, size: config.size + 1 }, layers: [] }), OCI_MANIFEST],
    ])('refuses %s with 400 MANIFEST_INVALID and stores nothing', async (_, build, contentType) => {
      const api = new OciHttp(registry.gatewayUrl, basicAuth(workspace.admin));
      const repository = `${workspace.slug}/invalid`;
      const config = await api.pushBlob(repository, Buffer.from(`{"n":"${randomBytes(4).toString('hex')}"}`), 'application/vnd.oci.image.config.v1+json');
      const response = await v2(`${repository}/manifests/bad`, { method: 'PUT', headers: { Authorization: basicAuth(workspace.admin), 'Content-Type': contentType }, body: JSON.stringify(build(config)) });
      expect(response.status).toBe(400);
      expect((await errorsOf(response))[0]!.code).toBe('MANIFEST_INVALID');
      expect((await v2(`${repository}/manifests/bad`, { headers: { Authorization: basicAuth(workspace.admin) } })).status).toBe(404);
    });
  });

  describe('10: uploads belong to their user, within limits', () => {
    it('answers 416 to a Content-Range that disagrees with the body', async () => {
      const start = await v2(`${workspace.slug}/ranges/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuth(workspace.admin) } });
      const location = start.headers.get('location')!;
      const patch = await fetch(`${registry.gatewayUrl}${location}`, { method: 'PATCH', headers: { Authorization: basicAuth(workspace.admin), 'Content-Range': '1000-1999', 'Content-Type': 'application/octet-stream' }, body: randomBytes(2000) });
      expect(patch.status).toBe(416);
      const ok = await fetch(`${registry.gatewayUrl}${location}`, { method: 'PATCH', headers: { Authorization: basicAuth(workspace.admin), 'Content-Range': '0-1999', 'Content-Type': 'application/octet-stream' }, body: randomBytes(2000) });
      expect(ok.status).toBe(202);
      expect(ok.headers.get('range')).toBe('0-1999');
    });

    it("keeps another user with push on the repository out of a session", async () => {
      const other = await user('other-pusher', ['read:package', 'write:package'], 'write');
      const start = await v2(`${workspace.slug}/owned/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuth(workspace.admin) } });
      const location = start.headers.get('location')!;
      const intruder = await fetch(`${registry.gatewayUrl}${location}`, { method: 'PATCH', headers: { Authorization: basicAuth(other), 'Content-Type': 'application/octet-stream' }, body: randomBytes(100) });
      expect(intruder.status).toBe(404);
      expect((await errorsOf(intruder))[0]!.code).toBe('BLOB_UPLOAD_UNKNOWN');
      expect((await fetch(`${registry.gatewayUrl}${location}`, { headers: { Authorization: basicAuth(other) } })).status).toBe(404);
      expect((await fetch(`${registry.gatewayUrl}${location}`, { headers: { Authorization: basicAuth(workspace.admin) } })).status).toBe(204);
    });

    it('caps the sessions one user has open (429), leaving other users alone', async () => {
      const greedy = await user('greedy', ['read:package', 'write:package'], 'write');
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++) statuses.push((await v2(`${workspace.slug}/greedy/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuth(greedy) } })).status);
      expect(statuses.slice(0, 20).every((s) => s === 202)).toBe(true);
      expect(statuses.slice(20)).toEqual([429, 429]);
      const calm = await user('calm', ['read:package', 'write:package'], 'write');
      expect((await v2(`${workspace.slug}/greedy/blobs/uploads/`, { method: 'POST', headers: { Authorization: basicAuth(calm) } })).status).toBe(202);
    });
  });

  describe('11: a mount asks for pull on its source', () => {
    it('names both repositories in the challenge of an anonymous mount', async () => {
      const response = await v2(`${workspace.slug}/to/blobs/uploads/?mount=${randomDigest()}&from=${workspace.slug}/from`, { method: 'POST' });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer realm="${registry.gatewayUrl}/v2/token",service="ocireg",scope="repository:${workspace.slug}/to:pull,push repository:${workspace.slug}/from:pull"`,
      );
    });
  });
});
