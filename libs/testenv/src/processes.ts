import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';

// Ports are drawn by the launcher's freePort (product code: the quick start draws the same way).
export { freePort } from '@ocireg/launcher';

/** A server process we started, in its own process group so stopping it stops its children too. */
export interface ManagedProcess {
  name: string;
  logFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 15_000;
const running = new Set<ManagedProcess>();
const leftovers = new Set<string>();

/**
 * If the test runner dies or is interrupted before stop(), do not leave servers
 * (or their data) behind. Installed on first use, not on import.
 */
let guardInstalled = false;
function installExitGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  process.once('exit', killEverything);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      // Someone else handles this signal (vitest, a CLI stopping gracefully):
      // leave it to them; the 'exit' guard still runs if they exit.
      if (process.listenerCount(signal) > 0) return;
      killEverything();
      process.kill(process.pid, signal); // now without a listener: dies the default way
    });
  }
}

function killEverything(): void {
  for (const managed of running) {
    const forked = descendants(managed.child.pid);
    killGroup(managed.child, 'SIGKILL');
    killPids(forked, 'SIGKILL');
  }
  running.clear();
  for (const dir of leftovers) removeDir(dir);
  leftovers.clear();
}

/**
 * Deletes a directory, first unmounting what a killed server left mounted in it
 * (dockerd bind-mounts its data root). Never throws: it also runs in the exit guard.
 */
export function removeDir(dir: string): void {
  try {
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length); // deepest first
    for (const mountPoint of mounts) execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
  } catch {
    // not Linux, or not allowed: the rm below says what is left
  }
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  } catch {
    // best effort
  }
}

/** A directory to delete if the process ends without stop() (see installExitGuard). */
export function removeOnExit(dir: string): () => void {
  leftovers.add(dir);
  return () => leftovers.delete(dir);
}

export interface StartOptions {
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Runs after the process has exited on stop(), e.g. to remove its files. */
  afterStop?: () => void;
}

export function startProcess(name: string, command: string, args: string[], options: StartOptions): ManagedProcess {
  installExitGuard();
  const log = openSync(options.logFile, 'a');
  // detached: its own process group, so one signal reaches the server and everything it forks.
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', log, log], detached: true, uid: options.uid, gid: options.gid });
  closeSync(log);
  child.unref();
  child.on('error', () => undefined); // a failed spawn shows as a missing pid in waitUntilReady
  const managed: ManagedProcess = {
    name,
    logFile: options.logFile,
    child,
    async stop() {
      running.delete(managed);
      // Noted now: some servers fork into their own session (dockerd's containerd), out of our group.
      const forked = descendants(child.pid);
      if (!hasExited(child)) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        killGroup(child, 'SIGTERM');
        const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }
      // Anything the server forked and left behind.
      killGroup(child, 'SIGKILL');
      killPids(forked, 'SIGKILL');
      options.afterStop?.();
    },
  };
  running.add(managed);
  return managed;
}

/** The processes of one startDependencies() call, so that a failure or stop() reaches all of them. */
export class ProcessGroup {
  private readonly members = new Set<ManagedProcess>();

  start(name: string, command: string, args: string[], options: StartOptions): ManagedProcess {
    const managed = startProcess(name, command, args, options);
    this.members.add(managed);
    return managed;
  }

  /** Stops the processes of one dependency, or all of them. */
  async stop(name?: string): Promise<void> {
    const targets = [...this.members].filter((managed) => name === undefined || managed.name === name);
    await Promise.all(targets.map((managed) => managed.stop()));
    for (const managed of targets) this.members.delete(managed);
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function killPids(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** The processes below `pid`, from /proc (Linux); empty elsewhere. */
function descendants(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const children = new Map<number, number[]>();
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        // The field after the ")" that closes the command name: state, then ppid.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
      } catch {
        // exited while we looked
      }
    }
  } catch {
    return [];
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

export class DependencyError extends Error {
  constructor(
    readonly dependency: string,
    problem: string,
    logFile?: string,
  ) {
    super(logFile ? `${dependency}: ${problem}\n--- last 30 lines of ${logFile} ---\n${logTail(logFile)}` : `${dependency}: ${problem}`);
    this.name = 'DependencyError';
  }
}

/** Polls `isReady` until it returns true; fails with the end of the process log when it exits or times out. */
export async function waitUntilReady(managed: ManagedProcess, isReady: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const { child } = managed;
  while (Date.now() < deadline) {
    if (child.pid === undefined) throw new DependencyError(managed.name, `could not run ${child.spawnfile}`, managed.logFile);
    if (hasExited(child)) throw new DependencyError(managed.name, `exited (${child.exitCode ?? child.signalCode}) before it was ready`, managed.logFile);
    if (await isReady().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new DependencyError(managed.name, `not ready within ${timeoutMs / 1000} s`, managed.logFile);
}

export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
