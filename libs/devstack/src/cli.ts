import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startDependencies } from '@ocireg/testenv';
import { REPO_ROOT, startRegistry } from './registry';

/**
 * `pnpm start`: real PostgreSQL, Redis, Kafka and MinIO as local processes,
 * then the five services on loopback. Ctrl-C stops everything.
 */
async function main(): Promise<void> {
  const port = Number(process.env.GATEWAY_PORT ?? 5000);
  const logDir = path.join(REPO_ROOT, '.data', 'logs');
  mkdirSync(logDir, { recursive: true });

  say('starting PostgreSQL, Redis, Kafka and MinIO ...');
  const dependencies = await startDependencies({ only: ['postgres', 'redis', 'kafka', 'minio'], log: (line) => say(`  ${line}`) });
  let registry: Awaited<ReturnType<typeof startRegistry>> | undefined;
  const stop = async () => {
    say('stopping ...');
    await registry?.stop();
    await dependencies.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  say('starting gateway, auth, metadata, blob-upload, indexer ...');
  try {
    registry = await startRegistry({ dependencyEnv: dependencies.env, logDir, gatewayPort: port });
  } catch (err) {
    say(`a service failed to start: ${err instanceof Error ? err.message : String(err)}`);
    await dependencies.stop();
    process.exit(1);
  }

  say('');
  say(`registry ready at ${registry.gatewayUrl} (service logs in ${logDir})`);
  for (const [name, address] of Object.entries(registry.grpcAddresses)) say(`  ${name.padEnd(12)} gRPC ${address}`);
  say('');
  say('try it (no login yet: token auth arrives with the auth service):');
  say(`  tar -C /etc -c hostname | docker import - ${registry.registryHost}/my-workspace/example:1`);
  say(`  docker push ${registry.registryHost}/my-workspace/example:1`);
  say(`  docker pull ${registry.registryHost}/my-workspace/example:1`);
  say('');
  say('press Ctrl-C to stop; data lives in temporary directories and is removed on stop.');
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

main().catch((err: unknown) => {
  say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
