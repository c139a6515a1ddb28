import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from './helpers';

export interface OwnDockerd {
  /** The docker CLI against this daemon, with `DOCKER_CONFIG` at `configDir`. */
  docker(args: string[], options?: { input?: string }): Promise<string>;
  /** The CLI's config directory: its config.json holds the credentials the CLI hands the daemon. */
  configDir: string;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * A dockerd of its own with the given daemon.json (registry-mirrors, ...), for
 * tests whose daemon configuration the shared one (the global setup's) must
 * not have. Like that one: no iptables, no bridge, vfs storage; resolves once
 * the CLI reaches it.
 */
export async function startOwnDockerd(dir: string, daemonConfig: Record<string, unknown>): Promise<OwnDockerd> {
  // Unix socket paths are limited to ~100 bytes: the root is a short /tmp path.
  const root = path.join('/tmp', `ocireg-dockerd-${randomBytes(3).toString('hex')}`);
  mkdirSync(root, { recursive: true });
  const host = `unix://${path.join(root, 'docker.sock')}`;
  const configFile = path.join(dir, 'daemon.json');
  writeFileSync(configFile, JSON.stringify(daemonConfig, null, 2));
  const configDir = path.join(dir, 'cli');
  mkdirSync(configDir, { recursive: true });
  const logFile = path.join(dir, 'dockerd.log');
  const child = spawn(
    'dockerd',
    [
      `--config-file=${configFile}`,
      '--storage-driver=vfs',
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      `--data-root=${path.join(root, 'data')}`,
      `--exec-root=${path.join(root, 'exec')}`,
      `--pidfile=${path.join(root, 'docker.pid')}`,
      `--host=${host}`,
    ],
    { stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const docker = (args: string[], options: { input?: string } = {}) => run('docker', args, { env: { DOCKER_HOST: host, DOCKER_CONFIG: configDir }, ...options });
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await docker(['version']);
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`dockerd did not start: ${(err as Error).message}\n${readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return { docker, configDir, logFile, stop };
}
