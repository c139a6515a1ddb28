import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createPushableWorkspace, createUserWithToken, REPO_ROOT, startRegistry, STARTUP_ORDER } from '@ocireg/launcher';
import { INTERNAL_SERVICES, SERVICES } from '@ocireg/topology';
import { startDependencies } from '@ocireg/testenv';

/**
 * `pnpm start`: real PostgreSQL, Redis, Kafka and MinIO as local processes,
 * then the five services on loopback. Ctrl-C stops everything.
 */
async function main(): Promise<void> {
  const port = Number(process.env.GATEWAY_PORT ?? SERVICES.gateway.ports.serve);
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

  say(`starting ${STARTUP_ORDER.join(', ')} ...`);
  try {
    // The services' default ports, so registryctl finds the admin API without flags.
    const grpcPorts = Object.fromEntries(INTERNAL_SERVICES.map((name) => [name, SERVICES[name].ports.serve]));
    registry = await startRegistry({ dependencyEnv: { ...dependencies.env, STORAGE_BACKEND: 's3' }, logDir, gatewayPort: port, grpcPorts, adminPort: 50050 });
  } catch (err) {
    say(`a service failed to start: ${err instanceof Error ? err.message : String(err)}`);
    await dependencies.stop();
    process.exit(1);
  }

  const demo = await createPushableWorkspace(registry.adminAddress, 'demo', registry.operator.authorization);
  const demoUser = await createUserWithToken(registry.adminAddress, {
    email: 'demo@example.com',
    scopes: ['read:package', 'write:package', 'admin:package'],
    sourceRepositoryId: demo.sourceRepositoryId,
    role: 'admin',
    expiresInSeconds: 30 * 86_400,
  }, registry.operator.authorization);
  say('');
  say(`registry ready at ${registry.gatewayUrl} (service logs in ${logDir})`);
  say(`  admin API (registryctl) ${registry.adminAddress}`);
  for (const [name, address] of Object.entries(registry.grpcAddresses)) say(`  ${name.padEnd(12)} internal gRPC ${address} (mutual TLS)`);
  say('');
  say(`workspace "${demo.slug}" is ready and creates packages on first push; user ${demoUser.email} is Admin of its repository.`);
  say('its API token (shown once):');
  say(`  ${demoUser.token}`);
  say('try it:');
  say(`  echo '${demoUser.token}' | docker login ${registry.registryHost} --username ${demoUser.email} --password-stdin`);
  say(`  tar -C /etc -c hostname | docker import - ${registry.registryHost}/${demo.slug}/example:1`);
  say(`  docker push ${registry.registryHost}/${demo.slug}/example:1`);
  say(`  docker pull ${registry.registryHost}/${demo.slug}/example:1`);
  say('');
  say(`operator ${registry.operator.email} administers everything with its API token (shown once):`);
  say(`  export REGISTRY_TOKEN=${registry.operator.token}`);
  say('administer it with registryctl (see docs/operations.md), e.g.:');
  say(`  node tools/registryctl/dist/cli.js package list ${demo.slug}`);
  say('  node tools/registryctl/dist/cli.js user create you@example.com');
  say('  node tools/registryctl/dist/cli.js token create you@example.com --scopes read:package,write:package --expires-in-days 30');
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
