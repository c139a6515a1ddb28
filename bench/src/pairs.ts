import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { S3BlobStore } from '@ocireg/storage';
import { startDependencies, type DependencyName } from '@ocireg/testenv';
import type { PairName } from './config';
import { startDistribution } from './distribution';
import { startEmbeddedOcireg, startServerOcireg } from './ocireg';
import type { Target } from './target';

/** Distribution and ocireg on the same kind of storage, both running, measured one after the other phase by phase; ocireg alone where Distribution lacks the driver. */
export interface Pair {
  name: PairName;
  title: string;
  reference?: Target;
  ours: Target;
  stop(): Promise<void>;
}

export function startPair(name: PairName, dir: string, serviceEnv: Record<string, string> = {}): Promise<Pair> {
  mkdirSync(dir, { recursive: true });
  // As root, PostgreSQL runs as its own user and must reach its data directory in here.
  chmodSync(dir, 0o755);
  switch (name) {
    case 'fs':
      return startFilesystemPair(dir, serviceEnv);
    case 's3':
      return startS3Pair(dir, serviceEnv);
    case 'azure':
      return startOursAlone(dir, serviceEnv, 'azure', 'azurite', 'Azure Blob Storage (Azurite)');
    case 'gcs':
      return startOursAlone(dir, serviceEnv, 'gcs', 'gcs', 'Google Cloud Storage (fake-gcs-server)');
  }
}

/** Our embedded filesystem mode vs Distribution's filesystem driver. */
async function startFilesystemPair(dir: string, serviceEnv: Record<string, string>): Promise<Pair> {
  const distribution = await startDistribution(path.join(dir, 'distribution'), { kind: 'filesystem' });
  const ocireg = await startEmbeddedOcireg(path.join(dir, 'ocireg'), serviceEnv).catch(async (err: unknown) => {
    await distribution.stop();
    throw err;
  });
  return {
    name: 'fs',
    title: 'filesystem: ocireg embedded mode vs Distribution filesystem driver',
    reference: { side: 'distribution', label: 'Distribution 2.8, filesystem driver', url: distribution.url, repository: ocireg.target.repository, authorization: async () => undefined, processes: () => ({ distribution: distribution.pid }) },
    ours: ocireg.target,
    async stop() {
      await Promise.all([distribution.stop(), ocireg.stop()]);
    },
  };
}

/** PostgreSQL, Redis and an object store as local processes (their data under `dir`), with their pids for the memory figures. */
async function startServerDependencies(dir: string, store: DependencyName) {
  const dependencies = await startDependencies({ only: ['postgres', 'redis', store], workDir: path.join(dir, 'dependencies') });
  const pids = Object.fromEntries(Object.entries(dependencies.pids).filter((entry): entry is [string, number] => entry[1] !== undefined));
  return { dependencies, pids };
}

/** Our MinIO mode vs Distribution's s3 driver, on one MinIO, a bucket each. */
async function startS3Pair(dir: string, serviceEnv: Record<string, string>): Promise<Pair> {
  const { dependencies, pids } = await startServerDependencies(dir, 'minio');
  const env = (name: string): string => dependencies.env[name] ?? '';
  const [endpoint, accessKey, secretKey, region] = [env('S3_ENDPOINT'), env('S3_ACCESS_KEY'), env('S3_SECRET_KEY'), env('S3_REGION')];
  const bucket = 'distribution';
  try {
    await new S3BlobStore({ endpoint, accessKey, secretKey, region, bucket }).ensureBucket(region);
    const distribution = await startDistribution(path.join(dir, 'distribution'), { kind: 's3', endpoint, accessKey, secretKey, region, bucket });
    const ocireg = await startServerOcireg('ocireg, MinIO mode', path.join(dir, 'ocireg'), { ...dependencies.env, STORAGE_BACKEND: 's3' }, pids, serviceEnv).catch(async (err: unknown) => {
      await distribution.stop();
      throw err;
    });
    return {
      name: 's3',
      title: 'MinIO: ocireg MinIO mode vs Distribution s3 driver (one MinIO, a bucket each)',
      reference: { side: 'distribution', label: 'Distribution 2.8, s3 driver', url: distribution.url, repository: ocireg.target.repository, authorization: async () => undefined, processes: () => ({ distribution: distribution.pid, minio: pids.minio! }) },
      ours: ocireg.target,
      async stop() {
        await Promise.all([distribution.stop(), ocireg.stop()]);
        await dependencies.stop();
      },
    };
  } catch (err) {
    await dependencies.stop();
    throw err;
  }
}

/** Ours alone on a backend Debian's Distribution 2.8 has no driver for, against the emulator the tests use. */
async function startOursAlone(dir: string, serviceEnv: Record<string, string>, name: 'azure' | 'gcs', emulator: DependencyName, store: string): Promise<Pair> {
  const { dependencies, pids } = await startServerDependencies(dir, emulator);
  try {
    const ocireg = await startServerOcireg(`ocireg on ${store}`, path.join(dir, 'ocireg'), { ...dependencies.env, STORAGE_BACKEND: name }, pids, serviceEnv);
    return {
      name,
      title: `${store}: ocireg alone (Debian's Distribution 2.8 has no ${name} driver)`,
      ours: ocireg.target,
      async stop() {
        await ocireg.stop();
        await dependencies.stop();
      },
    };
  } catch (err) {
    await dependencies.stop();
    throw err;
  }
}
