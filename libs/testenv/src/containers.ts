import { randomBytes } from 'node:crypto';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { Client as MinioClient } from 'minio';
import type { DependencyName } from './index';

/**
 * The same servers in containers, for machines with a Docker engine that can
 * pull images (laptops, hosted CI). Chosen only with OCIREG_DEPS=containers.
 */
export async function startInContainers(names: DependencyName[]): Promise<{ env: Record<string, string>; containers: StartedTestContainer[] }> {
  const env: Record<string, string> = {};
  const containers: StartedTestContainer[] = [];
  const keep = (container: StartedTestContainer) => {
    containers.push(container);
    return container;
  };

  await Promise.all(
    names.map(async (name) => {
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
          // The advertised listener must be the mapped port, so bind a fixed host port.
          const c = keep(
            await new GenericContainer('apache/kafka:4.1.1')
              .withExposedPorts({ container: 9092, host: 39092 })
              .withEnvironment({ KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:39092,CONTROLLER://localhost:9093' })
              .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
              .start(),
          );
          env.KAFKA_BROKERS = `${c.getHost()}:39092`;
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
          const client = new MinioClient({ endPoint: c.getHost(), port: c.getMappedPort(9000), useSSL: false, accessKey: 'ocireg-test', secretKey: secret, pathStyle: true });
          await client.makeBucket('ocireg-blobs', 'us-east-1');
          Object.assign(env, {
            S3_ENDPOINT: `http://${c.getHost()}:${c.getMappedPort(9000)}`,
            S3_ACCESS_KEY: 'ocireg-test',
            S3_SECRET_KEY: secret,
            S3_BUCKET: 'ocireg-blobs',
            S3_REGION: 'us-east-1',
          });
          break;
        }
        case 'dockerd':
          break; // always local: see index.ts
      }
    }),
  );
  return { env, containers };
}
