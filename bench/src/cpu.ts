import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times. */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in seconds. */
  cpuSeconds: number;
}

/** /proc/<pid>/stat, or undefined once the process is gone. */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return { ppid: field(4), cpuSeconds: (field(14) + field(15) + field(16) + field(17)) / TICKS };
}

/**
 * CPU seconds (user + system, with reaped children) of each named process
 * and its descendants: PostgreSQL serves each connection from a child.
 */
export function cpuSeconds(processes: Record<string, number>): Record<string, number> {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.set(Number(entry), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  const treeSeconds = (pid: number): number => (stats.get(pid)?.cpuSeconds ?? 0) + (children.get(pid) ?? []).reduce((sum, child) => sum + treeSeconds(child), 0);
  return Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, treeSeconds(pid)]));
}

/** CPU seconds each process used since `before` (a cpuSeconds() taken earlier). */
export function cpuSecondsSince(before: Record<string, number>, processes: Record<string, number>): Record<string, number> {
  const now = cpuSeconds(processes);
  return Object.fromEntries(Object.keys(processes).map((name) => [name, Math.max(0, (now[name] ?? 0) - (before[name] ?? 0))]));
}
