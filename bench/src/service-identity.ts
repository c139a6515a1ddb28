import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createGrpcClient, startGrpcServer, unaryCall, type ClientSecurity, type ServerSecurity } from '@ocireg/grpc';
import { createLogger } from '@ocireg/logger';
import { createMetricsRegistry } from '@ocireg/metrics';
import { ensureServiceTls } from '@ocireg/pki';
import { indexer, PROTO_DIR, PROTO_FILES } from '@ocireg/proto';
import { TlsMaterial, UserAssertionSigner, UserAssertionVerifier } from '@ocireg/service-identity';

/**
 * What proving the caller costs per internal call: the same small unary call
 * (IndexerService/GetTag, answered at once) over a plaintext channel and over
 * mutual TLS with the caller policy checked, one at a time and 32 in flight;
 * plus signing and verifying a user assertion (JWT with its certificate in x5c).
 *   pnpm build && node bench/dist/service-identity.js
 */
const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const CONCURRENCY = 32;

const answer: indexer.GetTagResponse = { tag: { tag: 'v1', digest: `sha256:${'a'.repeat(64)}`, updatedAt: '2026-01-01T00:00:00.000Z', kind: 'image' }, manifest: undefined, referrers: [] };
const unused = async (): Promise<never> => {
  throw new Error('not used by the benchmark');
};

async function measure(label: string, serverSecurity: ServerSecurity, clientSecurity: ClientSecurity): Promise<Record<string, string | number>> {
  const server = await startGrpcServer(
    { name: 'bench', host: '127.0.0.1', port: 0, logger: createLogger({ service: 'bench', level: 'silent' }), metrics: createMetricsRegistry('bench'), protoFiles: [PROTO_FILES.indexer], protoIncludeDirs: [PROTO_DIR], security: serverSecurity },
    [{ definition: indexer.IndexerServiceService, implementation: { getTag: async () => answer, listImages: unused, getImage: unused, listTags: unused, getStatus: unused }, callers: { '*': ['gateway'] } }],
  );
  const client = createGrpcClient(indexer.IndexerServiceClient, `127.0.0.1:${server.port}`, clientSecurity);
  const call = () => unaryCall(client.getTag.bind(client), { workspace: 'bench', name: 'app', tag: 'v1' });
  try {
    const firstStarted = performance.now();
    await call();
    const firstMs = performance.now() - firstStarted;
    for (let i = 0; i < 200; i++) await call(); // warm-up
    const latencies: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const started = performance.now();
      await call();
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    const concurrentStarted = performance.now();
    let done = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (done < CALLS * 2) {
        done++;
        await call();
      }
    }));
    const callsPerSecond = (CALLS * 2) / ((performance.now() - concurrentStarted) / 1000);
    return { channel: label, 'first call (ms)': firstMs.toFixed(1), 'p50 (ms)': latencies[Math.floor(CALLS / 2)]!.toFixed(3), 'p99 (ms)': latencies[Math.floor(CALLS * 0.99)]!.toFixed(3), [`calls/s, ${CONCURRENCY} in flight`]: Math.round(callsPerSecond) };
  } finally {
    client.close();
    await server.shutdown(1000);
  }
}

async function main(): Promise<void> {
  const tlsDir = mkdtempSync(path.join(tmpdir(), 'ocireg-bench-tls-'));
  try {
    const dirs = await ensureServiceTls(tlsDir, ['gateway', 'indexer', 'auth']);
    const gateway = new TlsMaterial(dirs.gateway!);
    const rows = [
      await measure('plaintext (no caller identity)', { kind: 'public' }, { kind: 'public' }),
      await measure('mutual TLS + caller policy', { kind: 'internal', tls: new TlsMaterial(dirs.indexer!) }, { kind: 'internal', tls: gateway, service: 'indexer' }),
    ];
    console.table(rows);

    const signer = new UserAssertionSigner(new TlsMaterial(dirs.auth!));
    const verifier = new UserAssertionVerifier(gateway);
    const assertion = { userId: 'u', email: 'u@example.com', operator: false, scopes: ['read:package'], tokenId: '0123456789abcdef', credentialExpiresAt: '2030-01-01T00:00:00Z', sessionId: '' };
    const n = 2000;
    let started = performance.now();
    let token = '';
    for (let i = 0; i < n; i++) token = signer.sign(assertion, 300);
    const signUs = ((performance.now() - started) * 1000) / n;
    started = performance.now();
    for (let i = 0; i < n; i++) verifier.verify(token);
    const verifyUs = ((performance.now() - started) * 1000) / n;
    console.table([{ 'user assertion': 'ES256 + x5c', 'sign (µs)': signUs.toFixed(0), 'verify (µs)': verifyUs.toFixed(0), 'size (bytes)': token.length }]);
  } finally {
    rmSync(tlsDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
