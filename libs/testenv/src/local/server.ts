import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DependencyError, type ManagedProcess } from '../processes';

export const execFileAsync = promisify(execFile);

/** What a local starter hands back to index.ts. */
export interface StartedServer {
  env: Record<string, string>;
  server: ManagedProcess;
  /** Starts the server again on the same port and data, after it was stopped (outage tests). */
  relaunch?: () => Promise<ManagedProcess>;
}

/** Runs a setup command (initdb, the Kafka storage format); a failure names the dependency and shows its output. */
export async function runSetup(dependency: string, step: string, command: string, args: string[], options: { uid?: number; gid?: number; cwd?: string } = {}): Promise<void> {
  try {
    await execFileAsync(command, args, options);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trimEnd().split('\n').slice(-30).join('\n');
    throw new DependencyError(dependency, `${step} failed: ${e.message.split('\n')[0]}\n${output}`);
  }
}
