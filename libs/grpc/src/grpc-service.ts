import type { Logger } from '@ocireg/logger';
import { startMetricsServer, type Registry } from '@ocireg/metrics';
import type { TlsMaterial } from '@ocireg/service-identity';
import { startGrpcServer, type GrpcServiceBinding, type RunningGrpcServer } from './server';
import { onShutdown, type ShutdownStep } from './shutdown';

/** The variables every internal gRPC service reads for its doors (validated by its config). */
export interface GrpcServiceDoors {
  GRPC_HOST: string;
  GRPC_PORT: number;
  GRPC_HEALTH_PORT?: number;
  METRICS_HOST: string;
  METRICS_PORT: number;
}

export interface ServedGrpcService {
  server: RunningGrpcServer;
  /**
   * Says the service is ready (its one "<name> ready" line, with its ports and
   * `fields`) and, from then on, shuts down on SIGTERM: the gRPC server drains
   * first, then `close` runs in order (background loops, clients, pools), the
   * metrics server last.
   */
  ready(close: ShutdownStep[], fields?: Record<string, unknown>): void;
}

/**
 * What every internal gRPC service's main does around its own wiring: serve
 * its gRPC services on mutual TLS (with health and reflection, and the
 * plaintext health port), serve /metrics, and drain on SIGTERM.
 */
export async function serveGrpcService(options: {
  name: string;
  doors: GrpcServiceDoors;
  tls: TlsMaterial;
  logger: Logger;
  metrics: Registry;
  protoFiles: string[];
  protoIncludeDirs: string[];
  services: GrpcServiceBinding[];
  /** What must answer before health says SERVING (see startGrpcServer). */
  readyWhen?: () => Promise<unknown>;
}): Promise<ServedGrpcService> {
  const { name, doors, logger, metrics } = options;
  const server = await startGrpcServer(
    {
      name,
      host: doors.GRPC_HOST,
      port: doors.GRPC_PORT,
      healthPort: doors.GRPC_HEALTH_PORT,
      readyWhen: options.readyWhen,
      security: { kind: 'internal', tls: options.tls },
      logger,
      metrics,
      protoFiles: options.protoFiles,
      protoIncludeDirs: options.protoIncludeDirs,
    },
    options.services,
  );
  const metricsServer = await startMetricsServer(metrics, doors.METRICS_PORT, doors.METRICS_HOST);
  return {
    server,
    ready(close, fields = {}) {
      onShutdown(logger, [
        { name: 'grpc', run: () => server.shutdown() },
        ...close,
        { name: 'metrics', run: () => new Promise((resolve) => metricsServer.server.close(resolve)) },
      ]);
      logger.info({ grpcPort: server.port, healthPort: server.healthPort, metricsPort: metricsServer.port, ...fields }, `${name} ready`);
    },
  };
}
