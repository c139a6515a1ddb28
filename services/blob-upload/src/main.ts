import path from 'node:path';
import { Redis } from 'ioredis';
import { createLogger } from '@ocireg/logger';
import { onShutdown, runService, startGrpcServer } from '@ocireg/grpc';
import { createMetricsRegistry, startMetricsServer } from '@ocireg/metrics';
import { blobupload, PROTO_DIR, PROTO_FILES } from '@ocireg/proto';
import { loadServiceTls } from '@ocireg/service-identity';
import { createBlobStore } from '@ocireg/storage';
import { loadBlobUploadConfig } from './config';
import { blobUploadHandlers } from './grpc-handlers';
import { FsSessionStore } from './fs-session-store';
import { RedisSessionStore } from './redis-session-store';
import { UploadService } from './upload-service';

runService(async () => {
  const config = loadBlobUploadConfig();
  const logger = createLogger({ service: 'blob-upload', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('blob-upload');
  const tls = loadServiceTls(config.INTERNAL_TLS_DIR, 'blob-upload');

  // Without REDIS_URL (embedded mode) sessions are JSON files under DATA_DIR; the config requires one of the two.
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 }) : undefined;
  await redis?.connect();
  const store = await createBlobStore(config, { createBucket: true, logger });

  const timeLimitSeconds = config.UPLOAD_TIME_LIMIT_SECONDS;
  const sessionTtlSeconds = Math.ceil(timeLimitSeconds) + 3600;
  const uploads = new UploadService({
    store,
    sessions: redis ? new RedisSessionStore(redis, sessionTtlSeconds) : new FsSessionStore(path.join(config.DATA_DIR!, 'upload-sessions'), sessionTtlSeconds),
    logger,
    limits: { maxBlobSize: config.MAX_BLOB_SIZE, timeLimitMs: timeLimitSeconds * 1000, maxSessionsPerUser: config.MAX_UPLOAD_SESSIONS_PER_USER, leaseMs: config.UPLOAD_LEASE_SECONDS * 1000 },
  });

  const grpcServer = await startGrpcServer(
    {
      name: 'blob-upload',
      host: config.GRPC_HOST,
      port: config.GRPC_PORT,
      healthPort: config.GRPC_HEALTH_PORT,
      security: { kind: 'internal', tls },
      logger,
      metrics,
      protoFiles: [PROTO_FILES.blobupload],
      protoIncludeDirs: [PROTO_DIR],
    },
    [{ definition: blobupload.BlobUploadServiceService, implementation: blobUploadHandlers(uploads), callers: { '*': ['gateway'] } }],
  );
  const metricsServer = await startMetricsServer(metrics, config.METRICS_PORT, config.METRICS_HOST);

  // Expired sessions hold multipart uploads in S3; free them even if the client never comes back.
  const sweeper = setInterval(() => {
    uploads.sweepExpired().catch((err: unknown) => logger.warn({ err }, 'upload sweep failed'));
  }, config.UPLOAD_SWEEP_INTERVAL_SECONDS * 1000);
  sweeper.unref();

  onShutdown(logger, [
    { name: 'sweeper', run: () => clearInterval(sweeper) },
    { name: 'grpc', run: () => grpcServer.shutdown() },
    { name: 'metrics', run: () => new Promise((resolve) => metricsServer.server.close(resolve)) },
    { name: 'redis', run: () => redis?.quit() },
  ]);
  logger.info({ grpcPort: grpcServer.port, metricsPort: metricsServer.port }, 'blob-upload ready');
});
