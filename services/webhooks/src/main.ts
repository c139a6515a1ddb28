import { consumeInBackground, createEventTransport } from '@ocireg/events';
import { createGrpcClient, runService, serveGrpcService } from '@ocireg/grpc';
import { createLogger } from '@ocireg/logger';
import { createMetricsRegistry } from '@ocireg/metrics';
import { metadata, PROTO_DIR, PROTO_FILES, webhooks } from '@ocireg/proto';
import { loadServiceTls, UserAssertionVerifier } from '@ocireg/service-identity';
import { callersOf } from '@ocireg/topology';
import { Pool } from 'pg';
import { WebhookAccess } from './callers';
import { loadWebhooksConfig } from './config';
import { DeliveryStore } from './delivery-store';
import { DeliveryWorker } from './delivery-worker';
import { WebhookEventConsumer } from './event-consumer';
import { webhookHandlers } from './grpc-handlers';
import { HookStore, webhookSecretSeal } from './hook-store';
import { HttpSender } from './http-sender';
import { migrate } from './migrate';
import { TargetGuard } from '@ocireg/outbound';
import { webhookMetrics } from './webhook-metrics';

/** Longest single wait between two attempts of a delivery. */
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

runService(async () => {
  const config = loadWebhooksConfig();
  const logger = createLogger({ service: 'webhooks', level: config.LOG_LEVEL });
  const metrics = createMetricsRegistry('webhooks');
  const tls = loadServiceTls(config.INTERNAL_TLS_DIR, 'webhooks');

  if (config.MIGRATE_ON_START) await migrate(config.DATABASE_URL, logger);
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 10 });
  pool.on('error', (err) => logger.error({ err }, 'idle PostgreSQL client failed'));
  const hooks = new HookStore(pool, webhookSecretSeal(config.WEBHOOK_SECRETS_KEY));
  // Rows from before secrets were sealed: sealed now, once, when a key is set (a no-op after).
  if (config.WEBHOOK_SECRETS_KEY) {
    const sealed = await hooks.sealLegacySecrets();
    if (sealed > 0) logger.info({ hooks: sealed }, 'sealed plaintext webhook secrets under WEBHOOK_SECRETS_KEY');
  } else {
    logger.warn('WEBHOOK_SECRETS_KEY is not set: creating webhooks and rotating their secrets is refused');
  }
  const deliveries = new DeliveryStore(pool);
  const guard = new TargetGuard(config.WEBHOOK_ALLOWED_CIDRS ?? [], 'WEBHOOK_ALLOWED_CIDRS');
  const sender = new HttpSender({ guard, timeoutMs: config.WEBHOOK_TIMEOUT_MS, followRedirects: config.WEBHOOK_FOLLOW_REDIRECTS, userAgent: 'ocireg-webhooks/1' });
  const worker = new DeliveryWorker({
    hooks,
    deliveries,
    sender,
    policy: { baseMs: config.WEBHOOK_RETRY_BASE_MS, retryForMs: config.WEBHOOK_RETRY_FOR_SECONDS * 1000, maxDelayMs: MAX_RETRY_DELAY_MS },
    concurrency: config.WEBHOOK_CONCURRENCY,
    perHook: config.WEBHOOK_CONCURRENCY_PER_HOOK,
    disableAfter: config.WEBHOOK_DISABLE_AFTER_FAILURES,
    pollMs: config.WEBHOOK_POLL_MS,
    logDays: config.WEBHOOK_LOG_DAYS,
    metrics: webhookMetrics(metrics, pool),
    logger: logger.child({ component: 'delivery' }),
  });
  const metadataClient = createGrpcClient(metadata.RegistryMetadataServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' });
  const access = new WebhookAccess(new UserAssertionVerifier(tls), metadataClient);

  const transport = createEventTransport({ KAFKA_BROKERS: config.KAFKA_BROKERS?.join(','), DATABASE_URL: config.DATABASE_URL }, logger);
  const consumer = transport.consumer(config.WEBHOOKS_GROUP_ID);
  const topics = transport.publisher('ocireg-webhooks');
  const events = new WebhookEventConsumer({ consumer, hooks, deliveries, onEnqueued: () => worker.kick(), logger });

  const service = await serveGrpcService({
    name: 'webhooks',
    doors: config,
    tls,
    logger,
    metrics,
    readyWhen: () => pool.query('SELECT 1'),
    protoFiles: [PROTO_FILES.webhooks],
    protoIncludeDirs: [PROTO_DIR],
    services: [{ definition: webhooks.WebhookServiceService, implementation: webhookHandlers({ hooks, deliveries, access, guard, kick: () => worker.kick() }), callers: callersOf('webhooks', webhooks.WebhookServiceService) }],
  });
  worker.start();

  // The transport may be down: connect in the background and keep retrying (as the indexer does).
  consumeInBackground({ topics, consumer, start: () => events.start(), logger, readyMessage: 'consuming registry events for webhooks' });

  service.ready([
    { name: 'deliveries', run: () => worker.stop() },
    { name: 'event transport', run: () => transport.close() },
    { name: 'metadata client', run: () => metadataClient.close() },
    { name: 'postgres', run: () => pool.end() },
  ]);
});
