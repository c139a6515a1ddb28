import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Peak resident memory of named processes during a phase, in MiB: the
 * kernel's high-water mark (VmHWM), reset at the start (clear_refs 5, as
 * root), and VmRSS polled every 100 ms as well, for processes whose mark
 * cannot be reset or that start during the phase.
 */
export class RssSampler {
  private readonly peaks = new Map<string, number>();
  private readonly pids = new Map<string, number>();
  private readonly resetFor = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(processes: Record<string, number>) {
    for (const [name, pid] of Object.entries(processes)) this.add(name, pid);
    this.timer = setInterval(() => this.poll(), 100);
  }

  /** Watches one more process from now on (the load generator, once spawned). */
  add(name: string, pid: number): void {
    this.pids.set(name, pid);
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      this.resetFor.add(name);
    } catch {
      // not ours to reset: polling alone
    }
    this.poll();
  }

  /** Stops polling; the peak of each process in MiB. */
  stop(): Record<string, number> {
    clearInterval(this.timer);
    this.poll();
    for (const name of this.resetFor) this.record(name, status(this.pids.get(name)!, 'VmHWM'));
    return Object.fromEntries(this.peaks);
  }

  private poll(): void {
    for (const [name, pid] of this.pids) this.record(name, status(pid, 'VmRSS'));
  }

  private record(name: string, kib: number | undefined): void {
    if (kib !== undefined) this.peaks.set(name, Math.max(this.peaks.get(name) ?? 0, kib / 1024));
  }
}

/** A "kB" field of /proc/<pid>/status, or undefined once the process is gone. */
function status(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
