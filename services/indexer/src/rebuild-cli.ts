import path from 'node:path';
import { Pool } from 'pg';
import { env, loadConfig, z } from '@ocireg/config';
import { createGrpcClient } from '@ocireg/grpc';
import { createLogger } from '@ocireg/logger';
import { runMigrations } from '@ocireg/postgres';
import { metadata } from '@ocireg/proto';
import { loadServiceTls } from '@ocireg/service-identity';
import { ReadModel } from './read-model';
import { rebuildFromMetadata } from './rebuild';

/**
 * Recovery: re-creates the listing read model from metadata, for example
 * after the read model was lost or events were skipped. Safe while the
 * indexer runs: listings keep the old model until the new one commits.
 *   DATABASE_URL=... METADATA_ADDR=host:port INTERNAL_TLS_DIR=<the indexer's> node dist/rebuild-cli.js
 * It calls metadata with the indexer's certificate (metadata lets only the
 * indexer read the snapshot); the indexer server itself never calls metadata.
 */
async function main(): Promise<void> {
  const config = loadConfig(z.object({ DATABASE_URL: env.url(), METADATA_ADDR: env.address(), INTERNAL_TLS_DIR: env.absolutePath(), LOG_LEVEL: env.logLevel() }));
  const logger = createLogger({ service: 'indexer-rebuild', level: config.LOG_LEVEL });
  await runMigrations({ databaseUrl: config.DATABASE_URL, dir: path.resolve(__dirname, '../migrations'), table: 'indexer_pgmigrations', logger });
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 2 });
  const tls = loadServiceTls(config.INTERNAL_TLS_DIR, 'indexer');
  const client = createGrpcClient(metadata.RegistryMetadataServiceClient, config.METADATA_ADDR, { kind: 'internal', tls, service: 'metadata' });
  try {
    const started = Date.now();
    const applied = await rebuildFromMetadata(new ReadModel(pool), client);
    logger.info({ events: applied, ms: Date.now() - started }, 'read model rebuilt from metadata');
  } finally {
    client.close();
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(`rebuild failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
