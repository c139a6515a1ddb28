import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Listening ports for the quick start, local runs and tests, chosen so that no two draws
 * collide, in this process or any other: outside the kernel's ephemeral range
 * (where outgoing connections take their source ports) and Kubernetes'
 * NodePort range (30000-32767: the local cluster's Services), each claimed by a lock
 * file <tmp>/ocireg-ports/<port> holding our pid (a dead owner's claim is taken
 * over) and released when this process exits; and only if it can listen now. The lock
 * directory is the machine's, not $TMPDIR's: a test run sets TMPDIR to a directory of its
 * own, and two runs side by side (or a run beside the quick start) must see each other's claims.
 */
const PORT_RANGE = { low: 15_000, high: 29_999 };
const PORT_LOCKS = path.join(process.platform === 'win32' ? tmpdir() : '/tmp', 'ocireg-ports');
const claimedPorts = new Set<number>();

export async function freePort(): Promise<number> {
  mkdirSync(PORT_LOCKS, { recursive: true, mode: 0o777 });
  for (let attempt = 0; attempt < 5000; attempt++) {
    const port = PORT_RANGE.low + randomInt(PORT_RANGE.high - PORT_RANGE.low);
    if (claimedPorts.has(port) || !claimPort(port)) continue;
    if (await canListen(port)) {
      if (claimedPorts.size === 0) process.once('exit', releaseClaimedPorts);
      claimedPorts.add(port);
      return port;
    }
    rmSync(path.join(PORT_LOCKS, String(port)), { force: true });
  }
  throw new Error(`no free port between ${PORT_RANGE.low} and ${PORT_RANGE.high}`);
}

function claimPort(port: number): boolean {
  const lock = path.join(PORT_LOCKS, String(port));
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lock, 'utf8') || 0);
      if (owner && isAlive(owner)) return false;
      rmSync(lock, { force: true }); // its owner is gone: take the claim over
    }
  }
  return false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseClaimedPorts(): void {
  for (const port of claimedPorts) rmSync(path.join(PORT_LOCKS, String(port)), { force: true });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
