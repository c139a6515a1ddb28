import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { createLogger } from '@ocireg/logger';
import { accessStateContract } from './contract';
import { REDIS_NAMES } from './names';
import { RedisAccessStateReader, RedisAccessStateWriter } from './redis-access-state';

// Runs against the Redis that the integration setup starts (REDIS_URL).
const url = process.env.REDIS_URL!;
const logger = createLogger({ service: 'access-state-test', level: 'silent' });
const admin = new Redis(url);

afterAll(async () => {
  await admin.quit();
});

accessStateContract('Redis', {
  writer: () => new RedisAccessStateWriter(url, logger),
  reader: (options) => new RedisAccessStateReader(url, logger, options),
  async killConnections(clientName) {
    const clients = String(await admin.client('LIST')).split('\n');
    const ids = clients.filter((line) => line.includes(` name=${clientName} `)).map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1]);
    for (const id of ids) if (id) await admin.client('KILL', 'ID', id);
    return ids.length;
  },
  isStored: async (tokenId) => (await admin.zscore(REDIS_NAMES.revokedTokens, tokenId)) !== null,
});
