import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { S3BlobStore } from '@ocireg/storage';
import { startDependencies } from '@ocireg/testenv';
import type { PairName } from './config';
import { startDistribution } from './distribution';
import { startEmbeddedOcireg, startMinioOcireg } from './ocireg';
import type { Target } from './target';

/** Distribution and ocireg on the same kind of storage, both running, measured one after the other phase by phase. */
export interface Pair {
  name: PairName;
  title: string;
  reference: Target;
  ours: Target;
  stop(): Promise<void>;
}

export function startPair(name: PairName, dir: string, serviceEnv: Record<string, string> = {}): Promise<Pair> {
  mkdirSync(dir, { recursive: true });
  // As root, PostgreSQL runs as its own user and must reach its data directory in here.
  chmodSync(dir, 0o755);
  return name === 'fs' ? startFilesystemPair(dir, serviceEnv) : startS3Pair(dir, serviceEnv);
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

/** Our MinIO mode vs Distribution's s3 driver, on one MinIO, a bucket each. */
async function startS3Pair(dir: string, serviceEnv: Record<string, string>): Promise<Pair> {
  const dependencies = await startDependencies({ only: ['postgres', 'redis', 'minio'], workDir: path.join(dir, 'dependencies') });
  const pids = Object.fromEntries(Object.entries(dependencies.pids).filter((entry): entry is [string, number] => entry[1] !== undefined));
  const env = (name: string): string => dependencies.env[name] ?? '';
  const [endpoint, accessKey, secretKey, region] = [env('S3_ENDPOINT'), env('S3_ACCESS_KEY'), env('S3_SECRET_KEY'), env('S3_REGION')];
  const bucket = 'distribution';
  try {
    await new S3BlobStore({ endpoint, accessKey, secretKey, region, bucket }).ensureBucket(region);
    const distribution = await startDistribution(path.join(dir, 'distribution'), { kind: 's3', endpoint, accessKey, secretKey, region, bucket });
    const ocireg = await startMinioOcireg(path.join(dir, 'ocireg'), dependencies.env, pids, serviceEnv).catch(async (err: unknown) => {
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
