import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { openSync, readFileSync } from 'node:fs';

/** A server process we started, in its own process group so stopping it stops its children too. */
export interface ManagedProcess {
  name: string;
  logFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const running = new Set<ManagedProcess>();

// If the test runner dies, do not leave servers behind.
process.once('exit', () => {
  for (const managed of running) killGroup(managed.child, 'SIGKILL');
});

export function startProcess(name: string, command: string, args: string[], options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number }): ManagedProcess {
  const log = openSync(options.logFile, 'a');
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', log, log], detached: true, uid: options.uid, gid: options.gid });
  child.unref();
  const managed: ManagedProcess = {
    name,
    logFile: options.logFile,
    child,
    async stop() {
      running.delete(managed);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(managed);
  return managed;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Polls `isReady` until it returns true; fails with the process log when it exits or times out. */
export async function waitUntilReady(managed: ManagedProcess, isReady: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (managed.child.exitCode !== null) throw new Error(`${managed.name} exited with code ${managed.child.exitCode}:\n${logTail(managed.logFile)}`);
    if (await isReady().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${managed.name} was not ready within ${timeoutMs / 1000} s:\n${logTail(managed.logFile)}`);
}

export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
