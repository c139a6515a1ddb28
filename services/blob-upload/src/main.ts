import path from 'node:path';
import { Redis } from 'ioredis';
import { createLogger } from '@ocireg/logger';
import { runService, serveGrpcService } from '@ocireg/grpc';
import { createMetricsRegistry } from '@ocireg/metrics';
import { blobupload, PROTO_DIR, PROTO_FILES } from '@ocireg/proto';
import { loadServiceTls } from '@ocireg/service-identity';
import { callersOf } from '@ocireg/topology';
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

  const service = await serveGrpcService({
    name: 'blob-upload',
    doors: config,
    tls,
    logger,
    metrics,
    protoFiles: [PROTO_FILES.blobupload],
    protoIncludeDirs: [PROTO_DIR],
    services: [{ definition: blobupload.BlobUploadServiceService, implementation: blobUploadHandlers(uploads), callers: callersOf('blob-upload', blobupload.BlobUploadServiceService) }],
  });

  // Expired sessions hold multipart uploads in S3; free them even if the client never comes back.
  const sweeper = setInterval(() => {
    uploads.sweepExpired().catch((err: unknown) => logger.warn({ err }, 'upload sweep failed'));
  }, config.UPLOAD_SWEEP_INTERVAL_SECONDS * 1000);
  sweeper.unref();

  service.ready([
    { name: 'sweeper', run: () => clearInterval(sweeper) },
    { name: 'redis', run: () => redis?.quit() },
  ]);
});
