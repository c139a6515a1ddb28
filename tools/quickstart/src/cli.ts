#!/usr/bin/env node
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, startRegistry, STARTUP_ORDER, type RunningRegistry } from '@ocireg/launcher';
import { seedDemo } from './demo';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres';
import { startInstructions } from './instructions';
import { loadOrCreateSecrets, saveSecrets, secretsFile } from './secrets';
import { Supervisor } from './supervisor';

const USAGE = `Usage: pnpm start [-- options]   (or node tools/quickstart/dist/cli.js [options])

The whole registry on this machine: embedded PostgreSQL, blobs on the local
filesystem, no Kafka, MinIO or Redis. The five services run as separate
processes on 127.0.0.1. Everything lives in one data directory.

  --data-dir <dir>        where data, secrets and logs live (default: .ocireg-data in the repository root)
  --port <port>           gateway (registry) port on 127.0.0.1 (default: 5000)
  --admin-port <port>     admin API port (registryctl) on 127.0.0.1 (default: the registry port + 1)
  --demo                  seed a workspace "demo" and a user with an API token (idempotent)
  --postgres-port <port>  embedded PostgreSQL port (default: a free one)
  --service-env K=V       add a variable to every service, e.g. REDIS_URL=redis://... to use a
                          production backend instead of an embedded one (repeatable)
  -h, --help`;

class UsageError extends Error {}

interface Options {
  dataDir: string;
  port: number;
  adminPort: number;
  demo: boolean;
  postgresPort?: number;
  serviceEnv: Record<string, string>;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      demo: { type: 'boolean', default: false },
      'postgres-port': { type: 'string' },
      'service-env': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const serviceEnv: Record<string, string> = {};
  for (const pair of values['service-env'] ?? []) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/s.exec(pair);
    if (!match) throw new UsageError(`--service-env expects NAME=value, got "${pair}"`);
    serviceEnv[match[1]!] = match[2]!;
  }
  const port = portOption('--port', values.port ?? '5000');
  return {
    dataDir: path.resolve(values['data-dir'] ?? path.join(REPO_ROOT, '.ocireg-data')),
    port,
    adminPort: portOption('--admin-port', values['admin-port'] ?? String(port + 1)),
    demo: values.demo ?? false,
    postgresPort: values['postgres-port'] === undefined ? undefined : portOption('--postgres-port', values['postgres-port']),
    serviceEnv,
  };
}

function portOption(name: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UsageError(`${name} must be a port number (1-65535), got "${value}"`);
  return port;
}

async function main(): Promise<void> {
  let options: Options | undefined;
  try {
    // `pnpm start -- --demo` passes the separator through.
    const args = process.argv.slice(2);
    options = parseOptions(args[0] === '--' ? args.slice(1) : args);
  } catch (err) {
    say(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (!options) {
    say(USAGE);
    return;
  }

  const started = Date.now();
  const { dataDir } = options;
  const logDir = path.join(dataDir, 'logs');
  const postgresDir = path.join(dataDir, 'postgres');
  mkdirSync(logDir, { recursive: true });
  const firstStart = !existsSync(secretsFile(dataDir));
  if (firstStart && existsSync(path.join(postgresDir, 'PG_VERSION'))) {
    fail(`${secretsFile(dataDir)} is missing but ${postgresDir} holds a database: its passwords and token pepper are lost. Restore secrets.json or start with an empty data directory.`);
  }
  await portIsFree(options.port).catch(() => fail(`port ${options.port} on 127.0.0.1 is already in use: stop what listens there or choose another with --port.`));
  await portIsFree(options.adminPort).catch(() => fail(`port ${options.adminPort} on 127.0.0.1 (the admin API) is already in use: stop what listens there or choose another with --admin-port.`));
  const { secrets } = loadOrCreateSecrets(dataDir);
  say(`ocireg quick start, data in ${dataDir}${firstStart ? ' (new: initialising)' : ' (reusing it)'}`);

  let postgres: RunningPostgres | undefined;
  let registry: RunningRegistry | undefined;
  let registryStarting: Promise<RunningRegistry> | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return say(`${signal} again: still stopping, please wait`);
    stopping = true;
    say(`\n${signal}: stopping the services ...`);
    // A signal during start-up waits for the services being started, so none is left running.
    const running = registry ?? (await registryStarting?.catch(() => undefined));
    await running?.stop();
    say('stopping PostgreSQL ...');
    await postgres?.stop();
    say('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  say(`starting PostgreSQL (embedded, ${postgresDir}) ...`);
  let step = Date.now();
  try {
    postgres = await startEmbeddedPostgres({ dataDir: postgresDir, password: secrets.postgresPassword, port: options.postgresPort, logFile: path.join(logDir, 'postgres.log') });
  } catch (err) {
    fail(`PostgreSQL failed to start: ${message(err)}`);
  }
  say(`  ${'postgres'.padEnd(12)} ready in ${seconds(step)}  127.0.0.1:${postgres.port}${postgres.initialised ? ' (new cluster)' : ''}`);
  if (stopping) return;

  say(`starting ${STARTUP_ORDER.join(', ')} ...`);
  step = Date.now();
  try {
    registryStarting = startRegistry({
      // No REDIS_URL, KAFKA_BROKERS or S3_*: each service uses its embedded backend under DATA_DIR (blobs: STORAGE_BACKEND=filesystem).
      // PUBLIC_URL: the links registryctl prints (invitations) name the address the instructions use.
      dependencyEnv: { DATABASE_URL: postgres.url, DATA_DIR: dataDir, STORAGE_BACKEND: 'filesystem', PUBLIC_URL: `http://127.0.0.1:${options.port}`, ...options.serviceEnv },
      logDir,
      gatewayPort: options.port,
      adminPort: options.adminPort,
      // The internal CA and the services' certificates, kept with the data (mode 0600).
      tlsDir: path.join(dataDir, 'tls'),
      secrets,
      onReady: (service, ms) => say(`  ${service.padEnd(12)} ready in ${(ms / 1000).toFixed(1)} s`),
    });
    registry = await registryStarting;
  } catch (err) {
    if (stopping) return;
    await postgres.stop();
    fail(`a service failed to start: ${message(err)}`);
  }
  if (stopping) return;

  let demo = secrets.demo;
  if (options.demo) {
    say('seeding the demo workspace ...');
    try {
      const seeded = await seedDemo(registry, secrets.demo);
      demo = seeded.credentials;
      if (seeded.changed) saveSecrets(dataDir, { ...secrets, demo });
    } catch (err) {
      await registry.stop();
      await postgres.stop();
      fail(`seeding the demo failed: ${message(err)}`);
    }
  }

  say(`\nstarted in ${seconds(started)}.\n`);
  for (const line of startInstructions({
    gatewayUrl: registry.gatewayUrl,
    registryHost: registry.registryHost,
    adminAddress: registry.adminAddress,
    operator: secrets.operator,
    dataDir,
    logDir,
    secretsFile: secretsFile(dataDir),
    registryctl: path.relative(REPO_ROOT, path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js')),
    demo: options.demo ? demo : undefined,
  })) {
    say(line);
  }
  watchProcesses(registry, postgres, logDir, () => stopping);
}

/**
 * A service that dies after start-up is started again (with backoff, see
 * Supervisor), as Kubernetes would; PostgreSQL dying is reported once, with
 * its log, since the data's safety comes before its availability.
 */
function watchProcesses(registry: RunningRegistry, postgres: RunningPostgres, logDir: string, isStopping: () => boolean): void {
  const supervisor = new Supervisor(
    STARTUP_ORDER.map((service) => ({
      name: service,
      isAlive: () => {
        const pid = registry.pid(service);
        return pid !== undefined && isAlive(pid);
      },
      restart: () => registry.restart(service),
      logFile: path.join(logDir, `${service}.log`),
    })),
    { say },
  );
  let postgresReported = false;
  let ticking = false;
  setInterval(() => {
    if (isStopping() || ticking) return;
    if (!postgresReported && postgres.pid !== undefined && !isAlive(postgres.pid)) {
      postgresReported = true;
      say(`postgres stopped unexpectedly: see ${path.join(logDir, 'postgres.log')} (Ctrl-C, then start again)`);
    }
    ticking = true;
    void supervisor.tick().finally(() => (ticking = false));
  }, 1000).unref();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portIsFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fail(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

main().catch((err: unknown) => fail(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
