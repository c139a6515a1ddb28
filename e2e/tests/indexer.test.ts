import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { startDependencies } from '@ocireg/testenv';
import { unaryCall } from '@ocireg/grpc';
import { indexer } from '@ocireg/proto';
import { importRandomImage } from './images';
import { basicAuth, internalClient, loginNewWorkspace, newWorkspace, run, startTestRegistry } from './helpers';
import { pollUntil } from './polling';

/** The first page of a workspace's images, by name. */
const listRequest = (workspace: string): indexer.ListImagesRequest => ({ workspace, project: '', sourceRepositoryId: '', namePrefix: '', sort: indexer.ImageSort.IMAGE_SORT_NAME, pageSize: 10, pageToken: '', visibility: { allPackages: true, sourceRepositoryIds: [], packageNames: [] } });

describe('indexer: pushed images appear in the listing through Kafka', () => {
  let registry: RunningRegistry;
  let client: indexer.IndexerServiceClient;

  beforeAll(async () => {
    registry = await startTestRegistry();
    client = internalClient(registry, indexer.IndexerServiceClient, 'indexer');
  });

  afterAll(async () => {
    client?.close();
    await registry?.stop();
  });

  it('lists a docker-pushed image shortly after the push, with its tags', async () => {
    const workspace = await loginNewWorkspace(registry);
    const reference = `${registry.registryHost}/${workspace.slug}/listed:v1`;
    await importRandomImage(reference, 16 * 1024);
    await run('docker', ['tag', reference, `${registry.registryHost}/${workspace.slug}/listed:v2`]);
    await run('docker', ['push', reference]);
    await run('docker', ['push', `${registry.registryHost}/${workspace.slug}/listed:v2`]);
    const pushedAt = Date.now();

    const images = await pollUntil(async () => (await unaryCall(client.listImages.bind(client), listRequest(workspace.slug))).images, (seen) => seen[0]?.tagCount === 2, 30_000);
    console.log(`listing delay after the push: ${Date.now() - pushedAt} ms`);
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ fullName: `${workspace.slug}/listed`, tagCount: 2 });
    expect(images[0]!.lastDigest).toMatch(/^sha256:/);
  });

  it('/api/v1/status says the indexer is unreachable while it is down (not "0 pending"), and listings answer 503', async () => {
    const workspace = await newWorkspace(registry, 'status');
    const headers = { Authorization: basicAuth(workspace.admin) };
    const status = async () => (await (await fetch(`${registry.gatewayUrl}/api/v1/status`, { headers })).json()) as { indexing: { reachable: boolean; pendingEvents: number }; components: Record<string, string> };
    expect(await status()).toMatchObject({ indexing: { reachable: true }, components: { auth: 'up', metadata: 'up', 'blob-upload': 'up', indexer: 'up' } });

    // Stopped gracefully, so it leaves its consumer group and the restart below need not wait out its session.
    process.kill(registry.pid('indexer')!, 'SIGTERM');
    try {
      const down = await pollUntil(status, (seen) => seen.components.indexer === 'unreachable', 15_000, 250);
      expect(down).toMatchObject({ indexing: { reachable: false }, components: { indexer: 'unreachable', metadata: 'up' } });
      // The listings themselves come from the indexer: a clear 503, not an empty list.
      const listing = await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${workspace.slug}/images`, { headers });
      expect([listing.status, ((await listing.json()) as { errors: Array<{ code: string }> }).errors[0]?.code]).toEqual([503, 'UNAVAILABLE']);
    } finally {
      await registry.restart('indexer');
    }
    expect((await pollUntil(status, (seen) => seen.components.indexer === 'up' && seen.indexing.reachable, 15_000, 250)).indexing.reachable).toBe(true);
  });

  it('loses nothing while Kafka is down: pushes succeed, events wait in the outbox, and appear once Kafka is back', async () => {
    // Its own Kafka and PostgreSQL, so the outage touches no other test.
    const own = await startDependencies({ only: ['postgres', 'kafka'] });
    const isolated = await startTestRegistry({ DATABASE_URL: own.env.DATABASE_URL!, KAFKA_BROKERS: own.env.KAFKA_BROKERS!, OUTBOX_POLL_MS: '50' });
    const isolatedClient = internalClient(isolated, indexer.IndexerServiceClient, 'indexer');
    try {
      const workspace = await loginNewWorkspace(isolated);
      const listed = async () => (await unaryCall(isolatedClient.listImages.bind(isolatedClient), listRequest(workspace.slug))).images.map((image) => image.fullName).sort();
      const waitFor = (expected: string[], timeoutMs: number) => pollUntil(listed, (seen) => JSON.stringify(seen) === JSON.stringify(expected), timeoutMs, 100);
      const push = async (image: string) => {
        const reference = `${isolated.registryHost}/${workspace.slug}/${image}:v1`;
        await importRandomImage(reference, 8 * 1024);
        await run('docker', ['push', reference]);
      };

      await push('before');
      expect(await waitFor([`${workspace.slug}/before`], 30_000)).toEqual([`${workspace.slug}/before`]);

      await own.stopOne('kafka');
      await push('during'); // the push itself never waits for Kafka
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await listed()).toEqual([`${workspace.slug}/before`]);
      // The outage shows in metadata's metrics: events waiting in the outbox, the oldest for over a second.
      const outbox = await (await fetch(isolated.metricsUrl('metadata'))).text();
      expect(Number(/^metadata_outbox_unpublished_events(?:\{[^}]*\})? (\S+)$/m.exec(outbox)?.[1])).toBeGreaterThanOrEqual(1);
      expect(Number(/^metadata_outbox_oldest_unpublished_age_seconds(?:\{[^}]*\})? (\S+)$/m.exec(outbox)?.[1])).toBeGreaterThanOrEqual(1);

      await own.startAgain('kafka');
      expect(await waitFor([`${workspace.slug}/before`, `${workspace.slug}/during`], 90_000)).toEqual([`${workspace.slug}/before`, `${workspace.slug}/during`]);
    } finally {
      isolatedClient.close();
      await isolated.stop();
      await own.stop();
    }
  }, 240_000);

  it('sends a malformed or newer-schema event to the dead-letter topic with the reason, and keeps going', async () => {
    const kafka = new Kafka({ brokers: process.env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'registry.events' }, { topic: 'registry.events.dlq' }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const key = `poison-${randomUUID()}`;
    await producer.send({
      topic: 'registry.events',
      messages: [
        { key, value: 'this is not json' },
        { key, value: JSON.stringify({ schemaVersion: 99, id: randomUUID(), time: new Date().toISOString(), action: 'manifest.pushed', target: { workspace: 'x', repository: 'x/y' } }) },
      ],
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: 'registry.events.dlq', fromBeginning: true });
    const reasons: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dead letters seen: ${JSON.stringify(reasons)}`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.key?.toString() !== key) return;
          reasons.push(message.headers?.reason?.toString() ?? '');
          if (reasons.length === 2) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(reasons).toEqual(['not JSON', 'unsupported schemaVersion 99']);

    // The consumer kept going: a new push still shows up.
    const workspace = await loginNewWorkspace(registry);
    const reference = `${registry.registryHost}/${workspace.slug}/after-poison:v1`;
    await importRandomImage(reference, 8 * 1024);
    await run('docker', ['push', reference]);
    const listed = await pollUntil(async () => (await unaryCall(client.listImages.bind(client), listRequest(workspace.slug))).images, (seen) => seen.length > 0, 30_000, 100);
    expect(listed.map((image) => image.fullName)).toEqual([`${workspace.slug}/after-poison`]);
  });
});
