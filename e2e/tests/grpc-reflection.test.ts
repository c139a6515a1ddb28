import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkGrpcHealth, type RunningRegistry } from '@ocireg/devstack';
import { run, startTestRegistry } from './helpers';

const EXPECTED_SERVICES = {
  auth: 'ocireg.auth.v1.AuthService',
  metadata: 'ocireg.metadata.v1.RegistryMetadataService',
  'blob-upload': 'ocireg.blobupload.v1.BlobUploadService',
  indexer: 'ocireg.indexer.v1.IndexerService',
} as const;

describe('every gRPC service: health and reflection', () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it.each(Object.entries(EXPECTED_SERVICES))('%s answers grpc.health.v1 and grpcurl list', async (name, serviceName) => {
    const address = registry.grpcAddresses[name as keyof typeof EXPECTED_SERVICES];
    expect(await checkGrpcHealth(address)).toBe('SERVING');
    expect(await checkGrpcHealth(address, serviceName)).toBe('SERVING');

    const listed = (await run('grpcurl', ['-plaintext', address, 'list'])).split('\n');
    expect(listed).toContain(serviceName);
    expect(listed).toContain('grpc.health.v1.Health');
    const methods = await run('grpcurl', ['-plaintext', address, 'describe', serviceName]);
    expect(methods).toContain('rpc ');
  });

  it('shuts down gracefully on SIGTERM and serves again after a restart', async () => {
    await registry.restart('indexer');
    const log = readFileSync(registry.logFile('indexer'), 'utf8');
    expect(log).toContain('"msg":"shutting down"');
    expect(log).toContain('"msg":"stopped"');
    expect(await checkGrpcHealth(registry.grpcAddresses.indexer)).toBe('SERVING');
  });
});
