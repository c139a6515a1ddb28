import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { checkGrpcHealth } from '@ocireg/grpc';
import { run, startTestRegistry } from './helpers';

const EXPECTED_SERVICES = {
  auth: 'ocireg.auth.v1.AuthService',
  metadata: 'ocireg.metadata.v1.RegistryMetadataService',
  'blob-upload': 'ocireg.blobupload.v1.BlobUploadService',
  indexer: 'ocireg.indexer.v1.IndexerService',
  webhooks: 'ocireg.admin.v1.WebhookService',
} as const;

describe('every gRPC service: health and reflection', () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it.each(Object.entries(EXPECTED_SERVICES))('%s answers grpc.health.v1 and grpcurl list on its plaintext health port, and only mutual TLS on its own', async (name, serviceName) => {
    const service = name as keyof typeof EXPECTED_SERVICES;
    const health = registry.healthAddresses[service];
    expect(await checkGrpcHealth(health)).toBe('SERVING');
    expect(await checkGrpcHealth(health, serviceName)).toBe('SERVING');

    // grpcurl speaks the health protocol through reflection's descriptors (they must be valid, maps included)...
    expect(JSON.parse(await run('grpcurl', ['-plaintext', health, 'grpc.health.v1.Health/Check']))).toEqual({ status: 'SERVING' });
    expect(JSON.parse(await run('grpcurl', ['-plaintext', '-d', JSON.stringify({ service: serviceName }), health, 'grpc.health.v1.Health/Check']))).toEqual({ status: 'SERVING' });
    // ...and the plaintext port describes nothing but health: the internal methods are not its business.
    const listed = (await run('grpcurl', ['-plaintext', health, 'list'])).split('\n');
    expect(listed).toContain('grpc.health.v1.Health');
    expect(listed).not.toContain(serviceName);
    await expect(run('grpcurl', ['-plaintext', health, 'describe', serviceName])).rejects.toThrow();

    // The service's own port: no plaintext, and a client certificate of the internal CA is required.
    const internal = registry.grpcAddresses[service];
    await expect(run('grpcurl', ['-plaintext', internal, 'list'])).rejects.toThrow();
    const tls = registry.tlsDir('gateway');
    await expect(run('grpcurl', ['-cacert', `${tls}/ca.crt`, internal, 'list'])).rejects.toThrow();
    const mutual = ['-cacert', `${tls}/ca.crt`, '-cert', `${tls}/tls.crt`, '-key', `${tls}/tls.key`];
    const withCertificate = await run('grpcurl', [...mutual, internal, 'list']);
    expect(withCertificate.split('\n')).toContain(serviceName);
    expect(await run('grpcurl', [...mutual, internal, 'describe', serviceName])).toContain('rpc ');
  });

  it('the gateway serves the admin API on its admin port, callable with grpcurl', async () => {
    const address = registry.adminAddress;
    const listed = (await run('grpcurl', ['-plaintext', address, 'list'])).split('\n');
    expect(listed).toContain('ocireg.admin.v1.AdminService');
    expect(listed).toContain('ocireg.admin.v1.UserService');
    expect(listed).toContain('ocireg.admin.v1.AuditService');
    expect(listed).toContain('ocireg.admin.v1.WebhookService');
    const slug = `grpcurl-${Date.now().toString(36)}`;
    const auth = ['-H', `authorization: ${registry.operator.authorization}`];
    await expect(run('grpcurl', ['-plaintext', '-d', JSON.stringify({ slug, name: 'Via grpcurl' }), address, 'ocireg.admin.v1.AdminService/CreateWorkspace'])).rejects.toThrow(/Unauthenticated/);
    const created = JSON.parse(await run('grpcurl', ['-plaintext', ...auth, '-d', JSON.stringify({ slug, name: 'Via grpcurl' }), address, 'ocireg.admin.v1.AdminService/CreateWorkspace']));
    expect(created.workspace).toMatchObject({ slug, name: 'Via grpcurl' });
    await expect(run('grpcurl', ['-plaintext', ...auth, '-d', JSON.stringify({ slug: 'Bad Slug' }), address, 'ocireg.admin.v1.AdminService/CreateWorkspace'])).rejects.toThrow(/InvalidArgument[\s\S]*slug/);
    await expect(run('grpcurl', ['-plaintext', ...auth, '-d', JSON.stringify({ slug }), address, 'ocireg.admin.v1.AdminService/CreateWorkspace'])).rejects.toThrow(/AlreadyExists/);
    // The source repository methods under their new names, and under the names they had before (same messages, so older clients keep working).
    await run('grpcurl', ['-plaintext', ...auth, '-d', JSON.stringify({ workspaceSlug: slug, slug: 'main', name: 'Main' }), address, 'ocireg.admin.v1.AdminService/CreateProject']);
    const made = JSON.parse(await run('grpcurl', ['-plaintext', ...auth, '-d', JSON.stringify({ workspaceSlug: slug, projectSlug: 'main', slug: 'app' }), address, 'ocireg.admin.v1.AdminService/CreateSourceRepository']));
    expect(made.sourceRepository).toMatchObject({ workspaceSlug: slug, projectSlug: 'main', slug: 'app' });
    const byOldName = JSON.parse(await run('grpcurl', ['-plaintext', ...auth, '-d', JSON.stringify({ workspaceSlug: slug }), address, 'ocireg.admin.v1.AdminService/ListRepositories']));
    expect(byOldName.sourceRepositories.map((r: { id: string }) => r.id)).toEqual([made.sourceRepository.id]);
  });

  it('shuts down gracefully on SIGTERM and serves again after a restart', async () => {
    await registry.restart('indexer');
    const log = readFileSync(registry.logFile('indexer'), 'utf8');
    expect(log).toContain('"msg":"shutting down"');
    expect(log).toContain('"msg":"stopped"');
    expect(await checkGrpcHealth(registry.healthAddresses.indexer)).toBe('SERVING');
  });
});
