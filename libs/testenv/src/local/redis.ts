import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitUntilReady, type ProcessGroup } from '../processes';
import type { StartedServer } from './server';

/** Redis on 127.0.0.1 without persistence. */
export async function startRedis(dir: string, group: ProcessGroup): Promise<StartedServer> {
  const port = await freePort();
  const dataDir = path.join(dir, 'redis');
  mkdirSync(dataDir, { recursive: true });
  const server = group.start('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dataDir], {
    logFile: path.join(dir, 'redis.log'),
  });
  const url = `redis://127.0.0.1:${port}`;
  await waitUntilReady(server, () => ping(url), 30_000);
  return { env: { REDIS_URL: url }, server };
}

async function ping(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined); // refused until the server listens; the poll retries
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } finally {
    redis.disconnect();
  }
}
