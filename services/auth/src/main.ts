import { RegistryError } from '@ocireg/errors';
import { env, loadConfig, z } from '@ocireg/config';
import { createLogger } from '@ocireg/logger';
import { onShutdown, runService, startGrpcServer, type AsyncService } from '@ocireg/grpc';
import { createMetricsRegistry, startMetricsServer } from '@ocireg/metrics';
import { auth, PROTO_DIR, PROTO_FILES } from '@ocireg/proto';

const configSchema = z.object({
  GRPC_HOST: env.host('0.0.0.0'),
  GRPC_PORT: env.port(50051),
  METRICS_PORT: env.port(9101),
  LOG_LEVEL: env.logLevel(),
});

/** Users, API tokens and docker token auth arrive with the auth issue (#4); until then every call says so. */
const handlers: AsyncService<auth.AuthServiceServer> = {
  async authorize() {
    throw new RegistryError('UNSUPPORTED', 'token authorization is not implemented yet (issue #4)');
  },
};

runService(async () => {
  const config = loadConfig(configSchema);
  const logger = createLogger({ service: 'auth', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('auth');
  const grpcServer = await startGrpcServer(
    { name: 'auth', host: config.GRPC_HOST, port: config.GRPC_PORT, logger, metrics, protoFiles: [PROTO_FILES.auth], protoIncludeDirs: [PROTO_DIR] },
    [{ definition: auth.AuthServiceService, implementation: handlers }],
  );
  const metricsServer = await startMetricsServer(metrics, config.METRICS_PORT);
  onShutdown(logger, [
    { name: 'grpc', run: () => grpcServer.shutdown() },
    { name: 'metrics', run: () => new Promise((resolve) => metricsServer.server.close(resolve)) },
  ]);
  logger.info({ grpcPort: grpcServer.port, metricsPort: metricsServer.port }, 'auth ready');
});
