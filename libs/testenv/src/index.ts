import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { startAzurite } from './local/azurite';
import { startDockerd } from './local/dockerd';
import { startFakeGcs } from './local/fake-gcs';
import { startKafka } from './local/kafka';
import { startMinio } from './local/minio';
import { startPostgres } from './local/postgres';
import { startRedis } from './local/redis';
import type { StartedServer } from './local/server';
import { DependencyError, ProcessGroup, removeDir, removeOnExit, type ManagedProcess } from './processes';

export { freePort, DependencyError } from './processes';
export { cacheDir, pinnedVersions, REPO_ROOT } from './paths';

export type DependencyName = 'postgres' | 'redis' | 'kafka' | 'minio' | 'dockerd' | 'azurite' | 'gcs';
/** What a production-like stack needs (the default). */
export const ALL_DEPENDENCIES: DependencyName[] = ['postgres', 'redis', 'kafka', 'minio', 'dockerd'];
/** The object stores of the other storage backends, for their tests: Azurite (Azure Blob Storage) and fake-gcs-server (Google Cloud Storage). */
export const STORAGE_EMULATORS: DependencyName[] = ['azurite', 'gcs'];

export interface StartedDependencies {
  /** Endpoints in the variables production uses: DATABASE_URL, REDIS_URL, KAFKA_BROKERS, S3_*, AZURE_STORAGE_*, GCS_*, GOOGLE_APPLICATION_CREDENTIALS, DOCKER_HOST. */
  env: Record<string, string>;
  /** Process ids of what runs locally (for benchmarks that measure memory). */
  pids: Partial<Record<DependencyName, number>>;
  /** Stops everything that was started and removes the temporary directory (not a given workDir). */
  stop(): Promise<void>;
  /** Stops one local server (an outage), e.g. Kafka. */
  stopOne(name: DependencyName): Promise<void>;
  /** Starts a server stopped with stopOne again, on the same port and data. */
  startAgain(name: DependencyName): Promise<void>;
}

export interface StartOptions {
  only?: DependencyName[];
  /** Where data and logs go (kept after stop); a fresh temporary directory, removed on stop, when omitted. */
  workDir?: string;
  /** Progress lines ("kafka ready in 7.1 s"); the servers' own output goes to <workDir>/<name>.log. */
  log?: (line: string) => void;
}

export type DependencyMode = 'local' | 'containers';

/**
 * The one place that decides how the servers run: OCIREG_DEPS=local (the default)
 * starts local processes; OCIREG_DEPS=containers uses testcontainers. Never
 * chosen just because a Docker socket exists: the e2e dockerd here has no
 * images and reaches no image registry.
 */
export function dependencyMode(): DependencyMode {
  const mode = process.env.OCIREG_DEPS ?? 'local';
  if (mode !== 'local' && mode !== 'containers') throw new Error(`OCIREG_DEPS must be "local" or "containers", not "${mode}"`);
  return mode;
}

const LOCAL_STARTERS: Record<DependencyName, (dir: string, group: ProcessGroup) => Promise<StartedServer>> = {
  postgres: startPostgres,
  redis: startRedis,
  kafka: startKafka,
  minio: startMinio,
  dockerd: startDockerd,
  azurite: startAzurite,
  gcs: startFakeGcs,
};

/** Starts the dependencies in parallel and returns once each really answers. */
export async function startDependencies(options: StartOptions = {}): Promise<StartedDependencies> {
  const names = [...new Set(options.only ?? ALL_DEPENDENCIES)];
  const mode = dependencyMode();
  const log = options.log ?? (() => undefined);

  const dir = options.workDir ? path.resolve(options.workDir) : mkdtempSync(path.join(tmpdir(), 'ocireg-deps-'));
  mkdirSync(dir, { recursive: true });
  // As root, PostgreSQL runs as its own user and must reach its data directory in here.
  if (process.getuid?.() === 0 && names.includes('postgres')) chmodSync(dir, 0o755);
  const forgetDir = options.workDir ? () => undefined : removeOnExit(dir);

  const group = new ProcessGroup();
  const containers: StartedTestContainer[] = [];
  const envOf = new Map<DependencyName | 'containers', Record<string, string>>();
  const pids: StartedDependencies['pids'] = {};
  const relaunchers = new Map<DependencyName, () => Promise<ManagedProcess>>();

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await Promise.all([group.stop(), ...containers.map((container) => container.stop().then(() => undefined))]);
      if (!options.workDir) removeDir(dir);
      forgetDir();
    })());

  // dockerd is always local: it is the docker CLI's own engine.
  const local = mode === 'local' ? names : names.filter((name) => name === 'dockerd');
  const inContainers = names.filter((name) => !local.includes(name));
  log(`starting ${names.join(', ')} (${mode === 'local' ? 'local processes' : 'containers, dockerd local'}; logs in ${dir})`);

  const starts: Promise<void>[] = local.map(async (name) => {
    const began = Date.now();
    try {
      const started = await LOCAL_STARTERS[name](dir, group);
      envOf.set(name, started.env);
      pids[name] = started.server.child.pid;
      if (started.relaunch) relaunchers.set(name, started.relaunch);
    } catch (err) {
      throw err instanceof DependencyError ? err : new DependencyError(name, (err as Error).message);
    }
    log(`${name} ready in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  });
  if (inContainers.length > 0) {
    starts.push(
      (async () => {
        const { startInContainers } = await import('./containers');
        envOf.set('containers', await startInContainers(inContainers, containers));
        log(`${inContainers.join(', ')} ready in containers`);
      })(),
    );
  }

  const failures = (await Promise.allSettled(starts)).flatMap((result) => (result.status === 'rejected' ? [result.reason as Error] : []));
  if (failures.length > 0) {
    await stop();
    if (failures.length === 1) throw failures[0];
    throw new Error(`${failures.length} dependencies failed to start:\n\n${failures.map((err) => err.message).join('\n\n')}`);
  }

  // In a stable order: the order the names were asked in.
  const env: Record<string, string> = Object.assign({}, ...[...names, 'containers' as const].map((name) => envOf.get(name) ?? {}));
  return {
    env,
    pids,
    stop,
    stopOne: (name) => group.stop(name),
    async startAgain(name) {
      const relaunch = relaunchers.get(name);
      if (!relaunch) throw new Error(`${name} cannot be started again`);
      pids[name] = (await relaunch()).child.pid;
    },
  };
}
export { createDatabase } from './databases';

/** One Kafka broker whose clients reach it on `host` (a cluster node's address, say), apart from startDependencies. */
export async function startKafkaOn(host: string): Promise<{ brokers: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ocireg-kafka-'));
  const group = new ProcessGroup();
  const stop = async () => {
    await group.stop();
    removeDir(dir);
  };
  try {
    return { brokers: (await startKafka(dir, group, host)).env.KAFKA_BROKERS!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
export { startOidcProvider, type ProviderConfig, type StartedOidcProvider } from './oidc';
