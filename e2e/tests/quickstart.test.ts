import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@ocireg/devstack';
import { freePort } from '@ocireg/testenv';
import { recordLogDir, recordSecret, run, tempDir } from './helpers';
import { pollUntil } from './polling';

/**
 * The README's quick start, as written: `bash scripts/start.sh --demo` is
 * bootstrap + build + this CLI, so the test runs the built CLI (on its own
 * data directory and port), then runs the printed lines with the docker CLI.
 *
 * Written against the embedded-mode env contract of issue #8: no REDIS_URL, KAFKA_BROKERS or S3_* reach the services. Set
 * QUICKSTART_PRODUCTION_BACKENDS=1 to hand them the global setup's Redis,
 * Kafka and MinIO instead (only the backends change; PostgreSQL stays embedded).
 */
const CLI = path.join(REPO_ROOT, 'tools', 'quickstart', 'dist', 'cli.js');
const READY_LINE = 'Press Ctrl-C to stop.';

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function productionBackendArgs(): string[] {
  if (process.env.QUICKSTART_PRODUCTION_BACKENDS !== '1') return [];
  const variables = ['REDIS_URL', 'KAFKA_BROKERS', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET', 'S3_REGION'].map((name) => `${name}=${process.env[name] ?? ''}`);
  return [...variables, 'STORAGE_BACKEND=s3'].flatMap((variable) => ['--service-env', variable]);
}

/** Starts the CLI and resolves once it printed its instructions; fails with its output if it exits first. */
async function startQuickstart(dataDir: string, port: number, adminPort: number): Promise<Started> {
  const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, '--port', String(port), '--admin-port', String(adminPort), '--demo', ...productionBackendArgs()], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 150_000;
  while (!output.includes(READY_LINE)) {
    if (child.exitCode !== null) throw new Error(`the quick start exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`the quick start printed no instructions within 150 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { child, output: () => output, exited };
}

async function stopQuickstart(started: Started): Promise<number | null> {
  started.child.kill('SIGTERM');
  return started.exited;
}

/** The indented shell lines printed under "Try it:". */
function tryItLines(output: string): string[] {
  const lines = output.split('\n');
  const start = lines.indexOf('Try it:');
  expect(start, `no "Try it:" block in:\n${output}`).toBeGreaterThan(0);
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('  ')) break;
    block.push(line.trim());
  }
  return block;
}

function printed(output: string, pattern: RegExp): string {
  const match = pattern.exec(output);
  if (!match?.[1]) throw new Error(`${pattern} not found in:\n${output}`);
  return match[1];
}

function shell(line: string): Promise<string> {
  return run('bash', ['-euo', 'pipefail', '-c', line], { cwd: REPO_ROOT, withStderr: true });
}

describe('the README quick start', () => {
  let dataDir: string;
  let port: number;
  let adminPort: number;
  let running: Started | undefined;

  beforeAll(async () => {
    expect(process.env.DOCKER_HOST, 'the global setup starts dockerd').toBeTruthy();
    // As root PostgreSQL runs as user "postgres", which must enter the data directory's parent.
    const parent = tempDir('quickstart');
    chmodSync(parent, 0o755);
    dataDir = path.join(parent, 'data');
    port = await freePort();
    adminPort = await freePort();
  });

  afterAll(async () => {
    if (running && running.child.exitCode === null) await stopQuickstart(running);
    // Logs stay for the secret audit; the cluster goes.
    if (dataDir) rmSync(path.join(dataDir, 'postgres'), { recursive: true, force: true });
  });

  it('README names the command that runs this CLI', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('bash scripts/start.sh --demo');
    expect(readFileSync(path.join(REPO_ROOT, 'scripts', 'start.sh'), 'utf8')).toContain('exec node tools/quickstart/dist/cli.js "$@"');
  });

  it('starts, logs in and pushes with the printed lines, restarts on the same data, pulls and lists', { timeout: 420_000 }, async () => {
    running = await startQuickstart(dataDir, port, adminPort);
    const first = running.output();
    recordLogDir(path.join(dataDir, 'logs'));
    expect(first).toContain('(new: initialising)');
    expect(first).toMatch(/postgres\s+ready in [\d.]+ s\s+127\.0\.0\.1:\d+ \(new cluster\)/);
    for (const service of ['auth', 'metadata', 'blob-upload', 'indexer', 'gateway']) expect(first).toMatch(new RegExp(`${service}\\s+ready in [\\d.]+ s`));
    expect(first).toContain(`Registry ready at http://127.0.0.1:${port}`);

    const token = printed(first, /Its API token:\n {2}(ocireg_\S+)/);
    const operatorToken = printed(first, /export REGISTRY_TOKEN=(\S+)/);
    recordSecret(token);
    recordSecret(operatorToken);
    expect(statSync(path.join(dataDir, 'secrets.json')).mode & 0o777).toBe(0o600);

    const lines = tryItLines(first);
    const login = lines.find((line) => line.includes('docker login'));
    const create = lines.find((line) => line.includes('docker import'));
    const push = lines.find((line) => line.startsWith('docker push'));
    const pull = lines.find((line) => line.startsWith('docker pull'));
    expect(login).toBe(`echo '${token}' | docker login 127.0.0.1:${port} --username demo@ocireg.local --password-stdin`);
    expect([create, push, pull].every(Boolean), lines.join('\n')).toBe(true);
    const image = printed(push!, /^docker push (\S+)$/);

    expect(await shell(login!)).toMatch(/Login Succeeded/);
    await shell(create!);
    const imageId = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image]);
    expect(await shell(push!)).toMatch(/1: digest: sha256:[a-f0-9]{64}/);

    expect(await stopQuickstart(running)).toBe(0);
    expect(running.output()).toMatch(/stopping the services[\s\S]*stopping PostgreSQL[\s\S]*stopped\./);
    // PostgreSQL removes its pid file only on a clean shutdown.
    expect(existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    running = await startQuickstart(dataDir, port, adminPort);
    const second = running.output();
    expect(second).toContain('(reusing it)');
    expect(second).not.toContain('(new cluster)');
    // --demo again is idempotent: the same user and token, still valid.
    expect(printed(second, /Its API token:\n {2}(ocireg_\S+)/)).toBe(token);
    expect(printed(second, /export REGISTRY_TOKEN=(\S+)/)).toBe(operatorToken);

    await run('docker', ['rmi', image]);
    await expect(run('docker', ['image', 'inspect', image])).rejects.toThrow();
    await shell(pull!);
    expect(await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).toBe(imageId);

    // The printed registryctl environment lists the image through the admin API, at the same address as before the restart.
    const exports = [...second.matchAll(/^ {2}(export .+)$/gm)].map((match) => match[1]).join('\n');
    expect(exports).toContain(`export REGISTRY_ADMIN_ADDR=127.0.0.1:${adminPort}`);
    expect(printed(first, /export REGISTRY_ADMIN_ADDR=(\S+)/)).toBe(`127.0.0.1:${adminPort}`);
    // Nothing but the registry's own doors listens beyond loopback, and stored files are the service user's alone.
    expect(listeningBeyondLoopback(running.child.pid!)).toEqual([]);
    for (const [file, mode] of filesUnder(path.join(dataDir, 'blobs'))) expect(mode & 0o077, `${file} is private`).toBe(0);
    for (const [file, mode] of filesUnder(path.join(dataDir, 'tls'))) expect(mode & 0o077, `${file} is private`).toBe(0);
    const listed = JSON.parse(await run('bash', ['-euo', 'pipefail', '-c', `${exports}\nnode tools/registryctl/dist/cli.js image list demo`], { cwd: REPO_ROOT })) as {
      images: { name: string; tagCount: number; projectSlug: string }[];
    };
    // The seeded packages, linked to the seeded project's repository, indexed through the PostgreSQL event log.
    expect(listed.images.map((i) => i.name).sort()).toEqual(['examples/web', 'hello', 'tools/cli']);
    expect(listed.images).toContainEqual(expect.objectContaining({ name: 'hello', tagCount: 1, projectSlug: 'main' }));
    expect(listed.images).toContainEqual(expect.objectContaining({ name: 'examples/web', tagCount: 3 }));
    // The printed web UI sign-in works (the same password after the restart), and the UI is served.
    const password = printed(second, /sign in as demo@ocireg\.local, password (\S+)\)/);
    expect(printed(first, /sign in as demo@ocireg\.local, password (\S+)\)/)).toBe(password);
    recordSecret(password);
    const signIn = await fetch(`http://127.0.0.1:${port}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${port}` }, body: JSON.stringify({ email: 'demo@ocireg.local', password }) });
    expect(signIn.status).toBe(201);
    expect((await fetch(`http://127.0.0.1:${port}/`)).headers.get('content-type')).toMatch(/text\/html/);

    // A revoked demo token is replaced on the next --demo start (same user, still Admin), not reused.
    const tokenId = printed(token, /^ocireg_([a-f0-9]{16})_/);
    await run('bash', ['-euo', 'pipefail', '-c', `${exports}\nnode tools/registryctl/dist/cli.js token revoke ${tokenId}`], { cwd: REPO_ROOT });
    expect(await stopQuickstart(running)).toBe(0);
    running = await startQuickstart(dataDir, port, adminPort);
    const third = running.output();
    const newToken = printed(third, /Its API token:\n {2}(ocireg_\S+)/);
    recordSecret(newToken);
    expect(newToken).not.toBe(token);
    const newLogin = tryItLines(third).find((line) => line.includes('docker login'))!;
    expect(newLogin).toContain(`echo '${newToken}'`);
    expect(await shell(newLogin)).toMatch(/Login Succeeded/);
    await run('docker', ['rmi', image]);
    await shell(pull!);

    // A service that dies is started again, after a pause, as Kubernetes would; the registry serves on.
    const indexerPid = descendants(running.child.pid!).find((pid) => commandLine(pid).includes(path.join('services', 'indexer', 'dist', 'main.js')));
    expect(indexerPid, 'the indexer runs under the quick start').toBeDefined();
    process.kill(indexerPid!, 'SIGKILL');
    const supervised = running;
    const restarted = await pollUntil(async () => supervised.output(), (out) => out.includes('indexer restarted'), 60_000, 200);
    expect(restarted).toMatch(/indexer stopped unexpectedly \(see \S+indexer\.log\); restarting it in 1 s \(crash 1 in a row\)/);
    const relisted = JSON.parse(await run('bash', ['-euo', 'pipefail', '-c', `${exports}\nnode tools/registryctl/dist/cli.js image list demo`], { cwd: REPO_ROOT })) as { images: unknown[] };
    expect(relisted.images).toHaveLength(3);

    // Tokens are printed for the user, never written to a log file.
    const secrets = JSON.parse(readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as Record<string, unknown>;
    const secretValues = [token, newToken, operatorToken, secrets.tokenPepper, secrets.postgresPassword, secrets.signingKey, (secrets.demo as { password: string }).password].map(String);
    for (const file of readdirSync(path.join(dataDir, 'logs'))) {
      const text = readFileSync(path.join(dataDir, 'logs', file), 'utf8');
      for (const secret of secretValues) expect(text.includes(secret), `${file} contains a secret`).toBe(false);
    }
  });
});

/** Files and directories under `root` with their permission bits. */
function filesUnder(root: string): Array<[string, number]> {
  const found: Array<[string, number]> = [[root, statSync(root).mode & 0o777]];
  for (const name of readdirSync(root)) {
    const entry = path.join(root, name);
    if (statSync(entry).isDirectory()) found.push(...filesUnder(entry));
    else found.push([entry, statSync(entry).mode & 0o777]);
  }
  return found;
}

/** A process and every process below it. */
function descendants(rootPid: number): number[] {
  const pids = new Set<number>([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const parent = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
        if (pids.has(parent) && !pids.has(Number(entry))) {
          pids.add(Number(entry));
          grew = true;
        }
      } catch {
        // the process ended meanwhile
      }
    }
  }
  return [...pids];
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** TCP ports that processes of the quick start's process tree listen on at an address other than 127.0.0.1. */
function listeningBeyondLoopback(rootPid: number): string[] {
  const pids = descendants(rootPid);
  const inodes = new Set<string>();
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode) inodes.add(inode);
      }
    } catch {
      // the process ended meanwhile
    }
  }
  const wide: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [address, port] = fields[1]!.split(':');
      const listening = fields[3] === '0A';
      const loopback = address === '0100007F' || address === '00000000000000000000000001000000';
      if (listening && !loopback && inodes.has(fields[9]!)) wide.push(`${address}:${parseInt(port!, 16)}`);
    }
  }
  return wide;
}
