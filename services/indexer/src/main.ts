import { RegistryError } from '@ocireg/errors';
import { env, loadConfig, z } from '@ocireg/config';
import { createLogger } from '@ocireg/logger';
import { onShutdown, runService, startGrpcServer, type AsyncService } from '@ocireg/grpc';
import { createMetricsRegistry, startMetricsServer } from '@ocireg/metrics';
import { indexer, PROTO_DIR, PROTO_FILES } from '@ocireg/proto';

const configSchema = z.object({
  GRPC_HOST: env.host('0.0.0.0'),
  GRPC_PORT: env.port(50054),
  METRICS_PORT: env.port(9104),
  LOG_LEVEL: env.logLevel(),
});

/** The Kafka consumer and the listing read model arrive with the indexer issue (#6); until then every call says so. */
const handlers: AsyncService<indexer.IndexerServiceServer> = {
  async listImages() {
    throw new RegistryError('UNSUPPORTED', 'listings are not implemented yet (issue #6)');
  },
};

runService(async () => {
  const config = loadConfig(configSchema);
  const logger = createLogger({ service: 'indexer', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('indexer');
  const grpcServer = await startGrpcServer(
    { name: 'indexer', host: config.GRPC_HOST, port: config.GRPC_PORT, logger, metrics, protoFiles: [PROTO_FILES.indexer], protoIncludeDirs: [PROTO_DIR] },
    [{ definition: indexer.IndexerServiceService, implementation: handlers }],
  );
  const metricsServer = await startMetricsServer(metrics, config.METRICS_PORT);
  onShutdown(logger, [
    { name: 'grpc', run: () => grpcServer.shutdown() },
    { name: 'metrics', run: () => new Promise((resolve) => metricsServer.server.close(resolve)) },
  ]);
  logger.info({ grpcPort: grpcServer.port, metricsPort: metricsServer.port }, 'indexer ready');
});
