import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createPushableWorkspace, startRegistry, type RunningRegistry } from '@ocireg/devstack';

const execFileAsync = promisify(execFile);

/** Runs a client command; failures carry its stderr so the test output says why. */
export async function run(command: string, args: string[], options: { env?: Record<string, string>; cwd?: string; withStderr?: boolean } = {}): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { env: { ...process.env, ...options.env }, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 });
    return (options.withStderr ? `${stdout}\n${stderr}` : stdout).trim();
  } catch (err) {
    const failure = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${failure.stderr || failure.stdout || failure.message}`);
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `ocireg-${prefix}-`));
}

/** The five services against the dependencies the global setup started. */
export async function startTestRegistry(extraEnv: Record<string, string> = {}): Promise<RunningRegistry> {
  const dependencyEnv = Object.fromEntries(
    ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET', 'S3_REGION'].map((name) => {
      const value = process.env[name];
      if (!value) throw new Error(`${name} is not set: run the e2e tests through the integration project (vitest --project integration)`);
      return [name, value];
    }),
  );
  return startRegistry({ dependencyEnv, logDir: tempDir('logs'), extraEnv: { LOG_LEVEL: 'debug', ...extraEnv } });
}

export function uniqueName(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** A new workspace that creates packages on first push, so tests can push to <slug>/<any image>. */
export function newWorkspace(registry: RunningRegistry, prefix = 'ws'): Promise<{ slug: string; repositoryId: string }> {
  return createPushableWorkspace(registry.grpcAddresses.metadata, uniqueName(prefix));
}
