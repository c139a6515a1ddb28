import { createLogger } from '@ocireg/logger';
import { onShutdown, runService, unaryCall } from '@ocireg/grpc';
import { createMetricsRegistry, startMetricsServer } from '@ocireg/metrics';
import { createBlobStore } from '@ocireg/storage';
import { accessStateBackend, createAccessStateReader } from '@ocireg/access-state';
import { TokenAccessGuard } from './auth-guard';
import { closeServiceClients, createServiceClients } from './clients';
import { loadGatewayConfig } from './config';
import { RegistryApi } from './registry-api';
import { ListingApi } from './listing-api';
import { createGatewayServer } from './server';

runService(async () => {
  const config = loadGatewayConfig();
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('gateway');
  const clients = createServiceClients(config);
  const store = await createBlobStore(config);

  const accessState = createAccessStateReader(accessStateBackend(config), logger);
  const guard = new TokenAccessGuard({
    authClient: clients.auth,
    accessState,
    logger,
    publicUrl: config.PUBLIC_URL,
    service: config.TOKEN_SERVICE,
    visibleWorkspaces: async (userId) => (await unaryCall(clients.metadata.listVisibleWorkspaces.bind(clients.metadata), { userId })).workspaceSlugs,
  });
  await guard.start();

  const api = new RegistryApi({
    clients,
    store,
    guard,
    limits: { uploadTimeLimitMs: config.UPLOAD_TIME_LIMIT_SECONDS * 1000, maxManifestSize: config.MAX_MANIFEST_SIZE },
  });
  const listings = new ListingApi({ guard, indexer: clients.indexer });
  const server = createGatewayServer({ api, listings, logger, metrics });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(config.HTTP_PORT, config.HTTP_HOST, resolve));
  const metricsServer = await startMetricsServer(metrics, config.METRICS_PORT);

  onShutdown(logger, [
    { name: 'http', run: () => new Promise((resolve) => { server.close(resolve); server.closeIdleConnections(); }) },
    { name: 'metrics', run: () => new Promise((resolve) => metricsServer.server.close(resolve)) },
    { name: 'grpc clients', run: () => closeServiceClients(clients) },
    { name: 'access state', run: () => accessState.close() },
  ]);
  const address = server.address();
  logger.info({ httpPort: typeof address === 'object' && address ? address.port : config.HTTP_PORT, metricsPort: metricsServer.port }, 'gateway ready');
});
