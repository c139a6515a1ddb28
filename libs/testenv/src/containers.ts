import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Client as MinioClient } from 'minio';
import type { DependencyName } from './index';
import { AZURE_ACCOUNT, AZURE_CONTAINER } from './local/azurite';
import { GCS_BUCKET, GCS_PROJECT_ID, writeServiceAccountKey } from './local/fake-gcs';
import { S3_BUCKET, S3_REGION } from './local/minio';
import { pinnedVersions } from './paths';
import { freePort } from './processes';

/**
 * The same servers in containers, for machines with a Docker engine that can
 * pull images (laptops, hosted CI). Chosen only with OCIREG_DEPS=containers.
 * Every container started goes into `containers` at once, so the caller can stop
 * them all even when another one failed.
 */
export async function startInContainers(names: DependencyName[], containers: StartedTestContainer[]): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const keep = (container: StartedTestContainer) => {
    containers.push(container);
    return container;
  };
  const startOne = async (name: DependencyName) => {
    switch (name) {
      case 'postgres': {
        const c = keep(
          await new GenericContainer('postgres:16-alpine')
            .withEnvironment({ POSTGRES_PASSWORD: 'ocireg', POSTGRES_DB: 'ocireg' })
            .withExposedPorts(5432)
            .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
            .start(),
        );
        env.DATABASE_URL = `postgres://postgres:ocireg@${c.getHost()}:${c.getMappedPort(5432)}/ocireg`;
        break;
      }
      case 'redis': {
        const c = keep(await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start());
        env.REDIS_URL = `redis://${c.getHost()}:${c.getMappedPort(6379)}`;
        break;
      }
      case 'kafka': {
        // Clients must reach the advertised address, so the host port is chosen first and advertised.
        // Any KAFKA_* variable replaces the image's default config, so the whole KRaft setup is given.
        const hostPort = await freePort();
        keep(
          await new GenericContainer(`apache/kafka:${pinnedVersions().kafka}`)
            .withExposedPorts({ container: 9092, host: hostPort })
            .withEnvironment({
              KAFKA_NODE_ID: '1',
              KAFKA_PROCESS_ROLES: 'broker,controller',
              KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
              KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${hostPort}`,
              KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
              KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
              KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
              KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
              KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
              KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
              KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
              KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
              KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
              KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
              KAFKA_HEAP_OPTS: '-Xmx512m',
            })
            .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
            .start(),
        );
        env.KAFKA_BROKERS = `127.0.0.1:${hostPort}`;
        break;
      }
      case 'minio': {
        const secret = randomBytes(16).toString('hex');
        const c = keep(
          await new GenericContainer('minio/minio')
            .withCommand(['server', '/data'])
            .withEnvironment({ MINIO_ROOT_USER: 'ocireg-test', MINIO_ROOT_PASSWORD: secret })
            .withExposedPorts(9000)
            .withWaitStrategy(Wait.forHttp('/minio/health/ready', 9000))
            .start(),
        );
        const client = new MinioClient({ endPoint: c.getHost(), port: c.getMappedPort(9000), useSSL: false, accessKey: 'ocireg-test', secretKey: secret, pathStyle: true, region: S3_REGION });
        await client.makeBucket(S3_BUCKET, S3_REGION);
        Object.assign(env, {
          S3_ENDPOINT: `http://${c.getHost()}:${c.getMappedPort(9000)}`,
          S3_ACCESS_KEY: 'ocireg-test',
          S3_SECRET_KEY: secret,
          S3_BUCKET,
          S3_REGION,
        });
        break;
      }
      case 'azurite': {
        const key = randomBytes(32).toString('base64');
        const c = keep(
          await new GenericContainer('mcr.microsoft.com/azure-storage/azurite')
            .withCommand(['azurite-blob', '--blobHost', '0.0.0.0', '--skipApiVersionCheck', '--disableTelemetry'])
            .withEnvironment({ AZURITE_ACCOUNTS: `${AZURE_ACCOUNT}:${key}` })
            .withExposedPorts(10000)
            .withWaitStrategy(Wait.forLogMessage(/successfully listens/))
            .start(),
        );
        const endpoint = `http://${c.getHost()}:${c.getMappedPort(10000)}/${AZURE_ACCOUNT}`;
        await new BlobServiceClient(endpoint, new StorageSharedKeyCredential(AZURE_ACCOUNT, key)).getContainerClient(AZURE_CONTAINER).createIfNotExists();
        Object.assign(env, { AZURE_STORAGE_ENDPOINT: endpoint, AZURE_STORAGE_ACCOUNT: AZURE_ACCOUNT, AZURE_STORAGE_KEY: key, AZURE_STORAGE_CONTAINER: AZURE_CONTAINER });
        break;
      }
      case 'gcs': {
        // Upload answers name the server's external URL, so the host port is chosen first.
        const hostPort = await freePort();
        const endpoint = `http://127.0.0.1:${hostPort}`;
        keep(
          await new GenericContainer('fsouza/fake-gcs-server')
            .withCommand(['-scheme', 'http', '-port', '4443', '-backend', 'memory', '-public-host', `127.0.0.1:${hostPort}`, '-external-url', endpoint])
            .withExposedPorts({ container: 4443, host: hostPort })
            .withWaitStrategy(Wait.forHttp('/storage/v1/b', 4443))
            .start(),
        );
        await fetch(`${endpoint}/storage/v1/b?project=${GCS_PROJECT_ID}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: GCS_BUCKET }) });
        const keyFile = writeServiceAccountKey(mkdtempSync(path.join(tmpdir(), 'ocireg-gcs-key-')));
        Object.assign(env, { GCS_ENDPOINT: endpoint, GCS_BUCKET, GCS_PROJECT_ID, GOOGLE_APPLICATION_CREDENTIALS: keyFile });
        break;
      }
      case 'dockerd':
        break; // always a local process: see index.ts
    }
  };
  const results = await Promise.allSettled(names.map(startOne));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
  return env;
}
