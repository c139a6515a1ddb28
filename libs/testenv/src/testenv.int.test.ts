import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Client as MinioClient } from 'minio';
import { Client as PgClient } from 'pg';
import { describe, expect, it } from 'vitest';
import { startDependencies } from './index';

const execFileAsync = promisify(execFile);

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// The global setup started every dependency with startDependencies(); each is used for real here.
describe('dependencies started by the test environment', () => {
  const env = process.env;

  it('PostgreSQL answers SQL', async () => {
    const client = new PgClient({ connectionString: env.DATABASE_URL });
    await client.connect();
    const { rows } = await client.query<{ answer: number }>('SELECT 41 + 1 AS answer');
    await client.end();
    expect(rows[0]!.answer).toBe(42);
  });

  it('Redis stores and returns a value', async () => {
    const redis = new Redis(env.REDIS_URL!);
    await redis.set('testenv:key', 'value');
    expect(await redis.get('testenv:key')).toBe('value');
    await redis.quit();
  });

  it('Kafka delivers a produced message to a consumer', async () => {
    const kafka = new Kafka({ brokers: env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
    const topic = `testenv-${Date.now()}`;
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'hello kafka' }] });
    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = await new Promise<string>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => resolve(message.value!.toString()) });
    });
    await consumer.disconnect();
    await producer.disconnect();
    expect(received).toBe('hello kafka');
  });

  it('MinIO stores and returns an object', async () => {
    const url = new URL(env.S3_ENDPOINT!);
    const client = new MinioClient({ endPoint: url.hostname, port: Number(url.port), useSSL: false, accessKey: env.S3_ACCESS_KEY!, secretKey: env.S3_SECRET_KEY!, pathStyle: true });
    await client.putObject(env.S3_BUCKET!, 'testenv/object', Buffer.from('stored'));
    const stream = await client.getObject(env.S3_BUCKET!, 'testenv/object');
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('stored');
  });

  it('dockerd answers the docker CLI', async () => {
    const { stdout } = await execFileAsync('docker', ['--host', env.DOCKER_HOST!, 'info', '--format', '{{.Driver}}']);
    expect(stdout.trim()).toBe('vfs');
  });

  it('stop() ends what startDependencies() started', async () => {
    const started = await startDependencies({ only: ['redis', 'postgres'] });
    const redisPort = Number(new URL(started.env.REDIS_URL!).port);
    const pgPort = Number(new URL(started.env.DATABASE_URL!).port);
    expect(await portOpen('127.0.0.1', redisPort)).toBe(true);
    expect(await portOpen('127.0.0.1', pgPort)).toBe(true);
    await started.stop();
    expect(await portOpen('127.0.0.1', redisPort)).toBe(false);
    expect(await portOpen('127.0.0.1', pgPort)).toBe(false);
  });
});
