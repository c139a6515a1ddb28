import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '@ocireg/testenv';

/** A layer of the load generator: pseudo-random bytes named by a seed (see bench/loadgen/layer.go). */
export interface Layer {
  seed: string;
  size: number;
  digest: string;
}

export interface TransferResult {
  seconds: number;
  bytes: number;
  cpuSeconds: number;
  /** Pushes: the final PUT ?digest= of every layer, added up (verify, make durable, place). */
  finishSeconds?: number;
}

export interface LoadResult {
  /** Requests in the measured seconds. */
  requests: number;
  /** With the warm-up's: what the CPU seconds were spent on. */
  allRequests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuSeconds: number;
}

/** What every run is told: where the registry is and the credentials for it. */
export interface Endpoint {
  url: string;
  authorization?: string;
}

/**
 * The compiled load generator (bench/loadgen), built once into the cache by
 * bench/scripts/build-loadgen.sh. Each call is one process: its id goes to
 * `onStart` (to sample its memory), its JSON answer comes back.
 */
export class Loadgen {
  private readonly binary: string;

  constructor() {
    this.binary = execFileSync('bash', [path.join(REPO_ROOT, 'bench', 'scripts', 'build-loadgen.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  }

  /** The digest of each layer: computed before a timed push, as docker knows its layers' digests before it pushes. */
  async digests(layers: Array<{ seed: string; size: number }>): Promise<Layer[]> {
    const { layers: digested } = await this.run<{ layers: Layer[] }>(['digest', ...layers.map((layer) => `${layer.seed}:${layer.size}`)]);
    return digested;
  }

  push(endpoint: Endpoint, repository: string, layers: Layer[], options: { streams: number; chunkBytes?: number }, onStart?: (pid: number) => void): Promise<TransferResult> {
    const args = ['push', '-url', endpoint.url, '-repo', repository, '-streams', String(options.streams), '-chunk', String(options.chunkBytes ?? 0)];
    return this.run([...args, ...layers.map(spec)], onStart, endpoint.authorization);
  }

  pull(endpoint: Endpoint, repository: string, layers: Layer[], options: { streams: number; verify: 'bytes' | 'sha256' }, onStart?: (pid: number) => void): Promise<TransferResult> {
    const args = ['pull', '-url', endpoint.url, '-repo', repository, '-streams', String(options.streams), '-verify', options.verify];
    return this.run([...args, ...layers.map(spec)], onStart, endpoint.authorization);
  }

  manifests(endpoint: Endpoint, manifestPath: string, options: { method: 'HEAD' | 'GET'; digest: string; clients: number; seconds: number; warmupSeconds: number }, onStart?: (pid: number) => void): Promise<LoadResult> {
    const args = ['manifest', '-url', endpoint.url, '-path', manifestPath, '-method', options.method, '-digest', options.digest];
    return this.run([...args, '-clients', String(options.clients), '-seconds', String(options.seconds), '-warmup', String(options.warmupSeconds)], onStart, endpoint.authorization);
  }

  private run<T>(args: string[], onStart?: (pid: number) => void, authorization?: string): Promise<T> {
    return new Promise((resolve, reject) => {
      // Credentials in the environment, not in the command line every process can read.
      const env = { PATH: process.env.PATH ?? '', ...(authorization ? { LOADGEN_AUTHORIZATION: authorization } : {}) };
      const child = spawn(this.binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      if (child.pid !== undefined) onStart?.(child.pid);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(`loadgen ${args[0]} failed (exit ${code}): ${stderr.trim()}`));
        resolve(JSON.parse(stdout) as T);
      });
    });
  }
}

function spec(layer: Layer): string {
  return `${layer.seed}:${layer.size}:${layer.digest}`;
}
