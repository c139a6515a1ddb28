import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDockerd, startKafka, startMinio, startPostgres, startRedis, type StartedServer } from './local-servers';

export { freePort } from './processes';
export { CACHE_DIR, REPO_ROOT } from './paths';

export type DependencyName = 'postgres' | 'redis' | 'kafka' | 'minio' | 'dockerd';
export const ALL_DEPENDENCIES: DependencyName[] = ['postgres', 'redis', 'kafka', 'minio', 'dockerd'];

export interface StartedDependencies {
  /** Endpoints in the variables production uses: DATABASE_URL, REDIS_URL, KAFKA_BROKERS, S3_*, DOCKER_HOST. */
  env: Record<string, string>;
  /** Process ids of what runs locally (for benchmarks that measure memory). */
  pids: Partial<Record<DependencyName, number>>;
  stop(): Promise<void>;
}

export interface StartOptions {
  only?: DependencyName[];
  /** Where data and logs go; a fresh temporary directory (removed on stop) when omitted. */
  workDir?: string;
  log?: (line: string) => void;
}

const LOCAL_STARTERS: Record<DependencyName, (dir: string) => Promise<StartedServer>> = {
  postgres: startPostgres,
  redis: startRedis,
  kafka: startKafka,
  minio: startMinio,
  dockerd: startDockerd,
};

/**
 * The one place that decides how the real servers run: OCIREG_DEPS=local (the
 * default) starts local processes on free loopback ports; OCIREG_DEPS=containers
 * uses testcontainers. dockerd is always local, since it is the docker CLI's own
 * engine. Never chosen just because a Docker socket exists: the e2e dockerd has
 * no images and reaches no image registry.
 */
export async function startDependencies(options: StartOptions = {}): Promise<StartedDependencies> {
  const names = options.only ?? ALL_DEPENDENCIES;
  const mode = process.env.OCIREG_DEPS ?? 'local';
  if (mode !== 'local' && mode !== 'containers') throw new Error(`OCIREG_DEPS must be "local" or "containers", not "${mode}"`);
  const log = options.log ?? (() => undefined);

  const dir = options.workDir ?? mkdtempSync(path.join(tmpdir(), 'ocireg-deps-'));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user and must reach its data directory
  const stops: Array<() => Promise<void>> = [];
  const env: Record<string, string> = {};
  const pids: StartedDependencies['pids'] = {};

  const stop = async () => {
    await Promise.all(stops.map((fn) => fn().catch(() => undefined)));
    if (!options.workDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const local = mode === 'local' ? names : names.filter((name) => name === 'dockerd');
    if (mode === 'containers') {
      const { startInContainers } = await import('./containers');
      const started = await startInContainers(names.filter((name) => name !== 'dockerd'));
      Object.assign(env, started.env);
      for (const container of started.containers) stops.push(async () => void (await container.stop()));
    }
    const results = await Promise.allSettled(
      local.map(async (name) => {
        const began = Date.now();
        const started = await LOCAL_STARTERS[name](dir);
        for (const managed of started.processes) stops.push(() => managed.stop());
        pids[name] = started.processes[0]?.child.pid;
        Object.assign(env, started.env);
        log(`${name} ready in ${((Date.now() - began) / 1000).toFixed(1)} s`);
      }),
    );
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) throw failure.reason;
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, pids, stop };
}
