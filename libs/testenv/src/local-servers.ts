import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Client as MinioClient } from 'minio';
import { Client as PgClient } from 'pg';
import { kafkaClasspath, minioBinary, postgresBinDir } from './paths';
import { freePort, startProcess, waitUntilReady, type ManagedProcess } from './processes';

const execFileAsync = promisify(execFile);

export interface StartedServer {
  env: Record<string, string>;
  processes: ManagedProcess[];
}

/** PostgreSQL refuses to run as root; when we are root it runs as the Debian `postgres` user. */
async function postgresIdentity(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  const uid = Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

export async function startPostgres(dir: string): Promise<StartedServer> {
  const bin = postgresBinDir();
  const dataDir = path.join(dir, 'postgres');
  mkdirSync(dataDir, { recursive: true });
  const identity = await postgresIdentity();
  if (identity.uid !== undefined) chownSync(dataDir, identity.uid, identity.gid!);
  await execFileAsync(path.join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], { uid: identity.uid, gid: identity.gid });

  const port = await freePort();
  const server = startProcess(
    'postgres',
    path.join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'max_connections=200'],
    { logFile: path.join(dir, 'postgres.log'), ...identity },
  );
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitUntilReady(server, () => query(adminUrl, 'SELECT 1'), 30_000);
  await query(adminUrl, 'CREATE DATABASE ocireg');
  return { env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/ocireg` }, processes: [server] };
}

async function query(url: string, sql: string): Promise<boolean> {
  const client = new PgClient({ connectionString: url });
  try {
    await client.connect();
    await client.query(sql);
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startRedis(dir: string): Promise<StartedServer> {
  const port = await freePort();
  const server = startProcess('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    logFile: path.join(dir, 'redis.log'),
  });
  const url = `redis://127.0.0.1:${port}`;
  await waitUntilReady(
    server,
    async () => {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => undefined); // refused until the server listens; the poll retries
      try {
        await redis.connect();
        return (await redis.ping()) === 'PONG';
      } finally {
        redis.disconnect();
      }
    },
    30_000,
  );
  return { env: { REDIS_URL: url }, processes: [server] };
}

/** Kafka in KRaft combined mode (broker + controller), one node. */
export async function startKafka(dir: string): Promise<StartedServer> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const kafkaDir = path.join(dir, 'kafka');
  mkdirSync(kafkaDir, { recursive: true });
  const properties = path.join(kafkaDir, 'server.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${path.join(kafkaDir, 'data')}`,
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      'num.partitions=1',
    ].join('\n'),
  );
  const java = ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', kafkaClasspath()];
  await execFileAsync('java', [...java, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', properties, '--standalone']);
  const server = startProcess('kafka', 'java', [...java, 'kafka.Kafka', properties], { logFile: path.join(dir, 'kafka.log') });
  const brokers = `127.0.0.1:${port}`;
  await waitUntilReady(
    server,
    async () => {
      const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
      try {
        await admin.connect();
        await admin.listTopics();
        return true;
      } finally {
        await admin.disconnect();
      }
    },
    90_000,
  );
  return { env: { KAFKA_BROKERS: brokers }, processes: [server] };
}

/** KRaft wants a base64url UUID as the cluster id. */
function clusterId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
}

export async function startMinio(dir: string): Promise<StartedServer> {
  const [port, consolePort] = [await freePort(), await freePort()];
  const accessKey = 'ocireg-test';
  const secretKey = randomBytes(16).toString('hex');
  const dataDir = path.join(dir, 'minio');
  mkdirSync(dataDir, { recursive: true });
  const server = startProcess('minio', minioBinary(), ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'], {
    logFile: path.join(dir, 'minio.log'),
    env: { ...process.env, MINIO_ROOT_USER: accessKey, MINIO_ROOT_PASSWORD: secretKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off' },
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitUntilReady(server, async () => (await fetch(`${endpoint}/minio/health/ready`)).ok, 30_000);
  const bucket = 'ocireg-blobs';
  const client = new MinioClient({ endPoint: '127.0.0.1', port, useSSL: false, accessKey, secretKey, pathStyle: true });
  await client.makeBucket(bucket, 'us-east-1');
  return {
    env: { S3_ENDPOINT: endpoint, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey, S3_BUCKET: bucket, S3_REGION: 'us-east-1' },
    processes: [server],
  };
}

/** dockerd as the e2e tests' docker CLI needs it: no iptables, no bridge, vfs storage, its own roots and socket. */
export async function startDockerd(dir: string): Promise<StartedServer> {
  // Unix socket paths are limited to ~100 bytes, so keep this directory short.
  const root = path.join('/tmp', `ocireg-dockerd-${randomBytes(3).toString('hex')}`);
  mkdirSync(root, { recursive: true });
  chmodSync(root, 0o711);
  const socket = path.join(root, 'docker.sock');
  const server = startProcess(
    'dockerd',
    'dockerd',
    [
      '--storage-driver=vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--data-root=${path.join(root, 'data')}`,
      `--exec-root=${path.join(root, 'exec')}`,
      `--pidfile=${path.join(root, 'docker.pid')}`,
      `--host=unix://${socket}`,
    ],
    { logFile: path.join(dir, 'dockerd.log') },
  );
  const host = `unix://${socket}`;
  await waitUntilReady(server, async () => {
    await execFileAsync('docker', ['--host', host, 'version']);
    return true;
  }, 60_000);
  const cleanup: ManagedProcess = {
    name: 'dockerd-root',
    logFile: server.logFile,
    child: server.child,
    async stop() {
      await server.stop();
      await execFileAsync('rm', ['-rf', root]).catch(() => undefined);
    },
  };
  return { env: { DOCKER_HOST: host }, processes: [cleanup] };
}
