import { createEventTransport } from '@ocireg/events';
import { OutboxRelay } from './outbox-relay';
import { Pool } from 'pg';
import { accessStateBackend, createAccessStateWriter } from '@ocireg/access-state';
import { AccessStateChanges } from './access-changes';
import { createLogger } from '@ocireg/logger';
import { runService, serveGrpcService } from '@ocireg/grpc';
import { CallerResolver } from './callers';
import { ListingSnapshot } from './listing-snapshot';
import { createMetricsRegistry, Gauge, sharedSample } from '@ocireg/metrics';
import { admin, audit, immutableTags, metadata, PROTO_DIR, PROTO_FILES, replication, retention as retentionProto, upstreams } from '@ocireg/proto';
import { loadServiceTls, UserAssertionVerifier } from '@ocireg/service-identity';
import { callersOf } from '@ocireg/topology';
import { adminHandlers } from './admin-handlers';
import { auditHandlers } from './audit-handlers';
import { startAuditRetention } from './audit-retention-loop';
import { loadMetadataConfig } from './config';
import { registryMetadataHandlers } from './grpc-handlers';
import { createMetadataModel } from './metadata-model';
import { migrate } from './migrate';
import { createBlobStore } from '@ocireg/storage';
import { Collector } from './gc/collector';
import { startCollectionLoop } from './gc/collection-loop';
import { gcHandlers } from './gc/gc-handlers';
import { CredentialSeal } from './upstreams/credential-seal';
import { upstreamHandlers } from './upstreams/upstream-handlers';
import { replicationHandlers } from './replication/replication-handlers';
import { restoreHandlers } from './restore-handlers';
import { startRestoreWindowPurge } from './restore-window-loop';
import { Retention } from './retention/retention';
import { retentionHandlers } from './retention/retention-handlers';
import { startRetentionLoop } from './retention/retention-loop';
import { RetentionRules } from './retention/rules';
import { immutableTagHandlers } from './immutable/immutable-tag-handlers';

runService(async () => {
  const config = loadMetadataConfig();
  const logger = createLogger({ service: 'metadata', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('metadata');
  const tls = loadServiceTls(config.INTERNAL_TLS_DIR, 'metadata');

  if (config.MIGRATE_ON_START) await migrate(config.DATABASE_URL, logger);
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE });
  pool.on('error', (err) => logger.error({ err }, 'idle PostgreSQL client failed'));
  const accessState = createAccessStateWriter(accessStateBackend(config), logger);
  // Removals of content reach every gateway's caches; a failed announcement only leaves them to expire (30 s).
  const removals = {
    announce: (subject: `content:${string}`) =>
      accessState.accessChanged(subject).catch((err: unknown) => logger.warn({ err, subject }, 'could not announce removed content; gateways serve their cached answers until they expire')),
  };
  const model = createMetadataModel(pool, {
    changes: new AccessStateChanges(accessState),
    removals,
    credentials: new CredentialSeal(config.UPSTREAM_CREDENTIALS_KEY),
    restoreWindowSeconds: config.RESTORE_WINDOW_SECONDS,
    replicationPolicy: {
      maxAttempts: config.REPLICATION_MAX_ATTEMPTS,
      retryBaseSeconds: config.REPLICATION_RETRY_BASE_SECONDS,
      retryMaxSeconds: config.REPLICATION_RETRY_MAX_SECONDS,
      windowSeconds: config.REPLICATION_RETRY_WINDOW_SECONDS,
      leaseSeconds: config.REPLICATION_LEASE_SECONDS,
    },
  });
  // Garbage collection deletes blob bytes once metadata no longer references them.
  const collector = new Collector({
    pool,
    store: await createBlobStore(config, { logger }),
    logger: logger.child({ component: 'gc' }),
    metrics,
    settings: {
      untaggedGraceMs: config.GC_UNTAGGED_GRACE_SECONDS * 1000,
      blobGraceMs: config.GC_BLOB_GRACE_SECONDS * 1000,
      orphanGraceMs: config.GC_ORPHAN_GRACE_SECONDS * 1000,
      batch: config.GC_BATCH,
    },
    removals,
  });
  // Retention rules (docs/lifecycle-retention.md): deletions only through model.deletions.
  const retentionRules = new RetentionRules(pool);
  const retention = new Retention(pool, retentionRules, model.deletions, { confirmAbove: config.RETENTION_CONFIRM_ABOVE_PERCENT / 100, batch: config.RETENTION_BATCH });
  // Admin calls carry the user's assertion, checked here against the internal CA: metadata never calls auth.
  const callers = new CallerResolver(new UserAssertionVerifier(tls));

  const service = await serveGrpcService({
    name: 'metadata',
    doors: config,
    tls,
    logger,
    metrics,
    readyWhen: () => pool.query('SELECT 1'),
    protoFiles: [PROTO_FILES.metadata, PROTO_FILES.admin, PROTO_FILES.upstreams, PROTO_FILES.replication, PROTO_FILES.audit, PROTO_FILES.retention, PROTO_FILES.immutableTags],
    protoIncludeDirs: [PROTO_DIR],
    services: [
      {
        definition: metadata.RegistryMetadataServiceService,
        implementation: registryMetadataHandlers(model, new ListingSnapshot(pool)),
        callers: callersOf('metadata', metadata.RegistryMetadataServiceService),
      },
      { definition: admin.AdminServiceService, implementation: { ...adminHandlers(model, callers), ...gcHandlers(collector, callers), ...restoreHandlers(model, callers, config.RESTORE_WINDOW_SECONDS) }, callers: callersOf('metadata', admin.AdminServiceService) },
      { definition: upstreams.UpstreamServiceService, implementation: upstreamHandlers(model, callers), callers: callersOf('metadata', upstreams.UpstreamServiceService) },
      { definition: replication.ReplicationServiceService, implementation: replicationHandlers(model, callers), callers: callersOf('metadata', replication.ReplicationServiceService) },
      {
        definition: retentionProto.RetentionServiceService,
        implementation: retentionHandlers({ rules: retentionRules, retention, access: model.access }, callers),
        callers: callersOf('metadata', retentionProto.RetentionServiceService),
      },
      { definition: immutableTags.ImmutableTagServiceService, implementation: immutableTagHandlers(model, callers), callers: callersOf('metadata', immutableTags.ImmutableTagServiceService) },
      { definition: audit.AuditServiceService, implementation: auditHandlers({ pool, access: model.access, callers }), callers: callersOf('metadata', audit.AuditServiceService) },
    ],
  });

  // Kafka when KAFKA_BROKERS is set, else the PostgreSQL event log (embedded mode).
  const transport = createEventTransport({ KAFKA_BROKERS: config.KAFKA_BROKERS?.join(','), DATABASE_URL: config.DATABASE_URL }, logger);
  // The transport may be down at start: the publisher connects on its first send and the relay retries; pushes never wait for it.
  const publisher = transport.publisher('ocireg-metadata');
  const relay = new OutboxRelay({ pool, publisher, logger, pollMs: config.OUTBOX_POLL_MS, databaseUrl: config.DATABASE_URL });
  relay.start();
  const backlog = sharedSample(() => relay.backlog());
  new Gauge({
    name: 'metadata_outbox_unpublished_events',
    help: 'Registry events written but not yet published to the event transport',
    registers: [metrics],
    async collect() {
      this.set((await backlog()).events);
    },
  });
  new Gauge({
    name: 'metadata_outbox_oldest_unpublished_age_seconds',
    help: 'Age of the oldest registry event not yet published (0 when none wait)',
    registers: [metrics],
    async collect() {
      this.set((await backlog()).oldestAgeSeconds);
    },
  });

  const collection = config.GC_ENABLED
    ? startCollectionLoop(collector, { intervalMs: config.GC_INTERVAL_SECONDS * 1000, sweepIntervalMs: config.GC_SWEEP_INTERVAL_SECONDS * 1000, logger })
    : undefined;

  // Deletions past the restore window are purged; collection then frees what only they kept.
  const restorePurge = startRestoreWindowPurge(model.restoreWindow, { intervalMs: config.RESTORE_PURGE_INTERVAL_SECONDS * 1000, logger: logger.child({ component: 'restore-window' }) });

  // Metadata prunes every chain of the audit log (it serves the log's queries).
  const auditRetention = startAuditRetention(pool, config.AUDIT_RETENTION_DAYS, logger.child({ component: 'audit-retention' }));

  const retentionLoop = config.RETENTION_ENABLED
    ? startRetentionLoop(pool, retention, {
        intervalMs: config.RETENTION_INTERVAL_SECONDS * 1000,
        duePollMs: Math.min(config.RETENTION_DUE_POLL_SECONDS, config.RETENTION_INTERVAL_SECONDS) * 1000,
        packagesPerRound: config.RETENTION_PACKAGES_PER_ROUND,
        logger: logger.child({ component: 'retention' }),
      })
    : undefined;

  service.ready([
    { name: 'retention', run: () => retentionLoop?.stop() },
    { name: 'retention evaluation thread', run: () => retention.close() },
    { name: 'garbage collection', run: () => collection?.stop() },
    { name: 'restore window purge', run: () => restorePurge.stop() },
    { name: 'audit retention', run: () => auditRetention.stop() },
    { name: 'outbox relay', run: () => relay.stop() },
    { name: 'event transport', run: () => transport.close() },
    { name: 'postgres', run: () => pool.end() },
    { name: 'access state', run: () => accessState.close() },
  ]);
});
