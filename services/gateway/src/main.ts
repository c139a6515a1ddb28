import { createLogger } from '@ocireg/logger';
import { channelReady, onShutdown, runService, untilReady } from '@ocireg/grpc';
import { createMetricsRegistry, startMetricsServer } from '@ocireg/metrics';
import { loadServiceTls } from '@ocireg/service-identity';
import { createBlobStore } from '@ocireg/storage';
import { accessStateBackend, createAccessStateReader } from '@ocireg/access-state';
import { AdminCallers } from './admin/admin-callers';
import { startAdminServer } from './admin/admin-server';
import { TokenAccessGuard } from './auth-guard';
import { clientAddressResolver } from './client-address';
import { closeServiceClients, createServiceClients } from './clients';
import { loadGatewayConfig } from './config';
import { ContentEpochs } from './oci/content-epochs';
import { createPullRecording } from './oci/pull-recording';
import { mirrorHostPrefix } from './oci/proxy/mirror-hosts';
import { RegistryApi } from './oci/registry-api';
import os from 'node:os';
import path from 'node:path';
import { TargetGuard } from '@ocireg/outbound';
import { ReplicationPush } from './replication/replication-push';
import { ReplicationWorker } from './replication/replication-worker';
import { createGatewayServer } from './server';
import { createWebApp } from './web/web-app';

runService(async () => {
  const config = loadGatewayConfig();
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('gateway');
  const tls = loadServiceTls(config.INTERNAL_TLS_DIR, 'gateway');
  const clients = createServiceClients(config, tls);
  const store = await createBlobStore(config, { logger });

  const adminCallers = new AdminCallers(clients.auth);
  const accessState = createAccessStateReader(accessStateBackend(config), logger);
  const epochs = new ContentEpochs();
  const guard = new TokenAccessGuard({
    authClient: clients.auth,
    accessState,
    logger,
    publicUrl: config.PUBLIC_URL,
    service: config.TOKEN_SERVICE,
    ownRealm: (host) => mirrorHostPrefix(config.UPSTREAM_MIRROR_HOSTS, host) !== undefined,
    clientAddress: clientAddressResolver(config.TRUSTED_PROXY_CIDRS),
    onRevoked: (tokenId) => adminCallers.forgetToken(tokenId),
    content: epochs,
  });
  await guard.start();

  // Last-pulled times, batched off the pull path (docs/lifecycle.md).
  const pulls = createPullRecording(clients.metadata, { flushSeconds: config.PULL_FLUSH_SECONDS, logger: logger.child({ component: 'pull-times' }), metrics });
  const api = new RegistryApi({
    clients,
    store,
    guard,
    limits: { uploadTimeLimitMs: config.UPLOAD_TIME_LIMIT_SECONDS * 1000, uploadIdleTimeoutMs: config.UPLOAD_IDLE_TIMEOUT_SECONDS * 1000, maxManifestSize: config.MAX_MANIFEST_SIZE },
    redirectSeconds: config.BLOB_REDIRECT_SECONDS || undefined,
    epochs,
    pulls,
    pullThrough: {
      settings: {
        upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_SECONDS * 1000,
        spoolDir: config.UPSTREAM_SPOOL_DIR ?? path.join(os.tmpdir(), 'ocireg-pull-through'),
        allowedHosts: [...(config.UPSTREAM_ALLOWED_HOSTS ?? [])],
        allowedCidrs: [...(config.UPSTREAM_ALLOWED_CIDRS ?? [])],
        mirrors: config.UPSTREAM_MIRRORS,
        mirrorHosts: config.UPSTREAM_MIRROR_HOSTS,
      },
      metrics,
      logger: logger.child({ component: 'pull-through' }),
    },
  });
  const web = createWebApp({
    clients,
    callers: adminCallers,
    guard,
    store,
    logger,
    challenge: (req) => `Bearer realm="${guard.realm(req)}",service="${config.TOKEN_SERVICE}",scope="registry:catalog:*"`,
    publicUrl: config.PUBLIC_URL,
    trustedProxies: config.TRUSTED_PROXY_CIDRS,
    uiDir: config.WEB_UI_DIR ?? path.resolve(__dirname, '../../../web/dist'),
  });
  // Ready once auth's signing keys are in hand and metadata, blob-upload and the blob store answer:
  // a new pod whose address a NetworkPolicy controller has not admitted yet takes no requests.
  const readiness = untilReady(
    'auth keys, metadata, blob-upload and blob storage reached',
    () => Promise.all([guard.loadKeys(), channelReady(clients.metadata), channelReady(clients.uploads), store.stat('readiness-probe')]),
    logger,
  );
  const server = createGatewayServer({ api, web, logger, metrics, ready: () => readiness.ready });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(config.HTTP_PORT, config.HTTP_HOST, resolve));
  const adminServer = await startAdminServer({ host: config.ADMIN_GRPC_HOST, port: config.ADMIN_GRPC_PORT, tlsDir: config.ADMIN_TLS_DIR, clients, callers: adminCallers, logger, metrics, publicUrl: config.PUBLIC_URL });
  const metricsServer = await startMetricsServer(metrics, config.METRICS_PORT, config.METRICS_HOST);
  // Push-based replication (docs/replication.md): jobs claimed from metadata, blobs read from storage.
  const replication = config.REPLICATION_ENABLED
    ? new ReplicationWorker({
        metadata: clients.metadata,
        push: new ReplicationPush({ metadata: clients.metadata, store }),
        guard: new TargetGuard(config.REPLICATION_ALLOWED_CIDRS ?? [], 'REPLICATION_ALLOWED_CIDRS'),
        settings: { pollMs: config.REPLICATION_POLL_SECONDS * 1000, concurrency: config.REPLICATION_CONCURRENCY, requestTimeoutMs: config.REPLICATION_TIMEOUT_SECONDS * 1000 },
        logger: logger.child({ component: 'replication' }),
        metrics,
      })
    : undefined;
  replication?.start();

  onShutdown(logger, [
    { name: 'readiness', run: () => readiness.stop() },
    { name: 'http', run: () => new Promise((resolve) => { server.close(resolve); server.closeIdleConnections(); }) },
    { name: 'admin', run: () => adminServer.shutdown() },
    // A push under way finishes (or its lease runs out and another gateway takes it).
    { name: 'replication', run: () => replication?.stop() },
    // After the HTTP server stopped (no more pulls), before the clients close.
    { name: 'last-pulled times', run: () => pulls.close() },
    { name: 'metrics', run: () => new Promise((resolve) => metricsServer.server.close(resolve)) },
    { name: 'grpc clients', run: () => closeServiceClients(clients) },
    { name: 'access state', run: () => accessState.close() },
  ]);
  const address = server.address();
  logger.info({ httpPort: typeof address === 'object' && address ? address.port : config.HTTP_PORT, adminPort: adminServer.port, metricsPort: metricsServer.port }, 'gateway ready');
});
