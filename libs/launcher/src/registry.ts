import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { checkGrpcHealth } from '@ocireg/grpc';
import { ensureServiceTls } from '@ocireg/pki';
import { addressVariable, INTERNAL_SERVICES, isInternalService, SERVICE_NAMES, serviceSpec, type InternalServiceName, type ServiceName } from '@ocireg/topology';
import { freePort } from './free-port';
import { REPO_ROOT } from './paths';
import { generateRegistrySecrets, type RegistrySecrets } from './secrets';

export type { InternalServiceName, ServiceName };

/** Started together, one group after the other: the services that serve internal gRPC, then those that only call them (the gateway). */
const STARTUP_GROUPS: readonly (readonly ServiceName[])[] = [INTERNAL_SERVICES, SERVICE_NAMES.filter((name) => !isInternalService(name))];
export const STARTUP_ORDER: readonly ServiceName[] = STARTUP_GROUPS.flat();

export interface RegistryOptions {
  /** Dependency endpoints (DATABASE_URL, REDIS_URL, KAFKA_BROKERS, S3_*), as production passes them. */
  dependencyEnv: Record<string, string>;
  /** Each service writes <logDir>/<service>.log. */
  logDir: string;
  /** Gateway port; a free one when omitted. */
  gatewayPort?: number;
  /** gRPC ports by service; free ones when omitted. */
  grpcPorts?: Partial<Record<InternalServiceName, number>>;
  /** The gateway's admin port (AdminService, UserService); a free one when omitted. */
  adminPort?: number;
  /** Where the internal CA and the services' certificates live (kept and reused); <logDir>/tls when omitted. */
  tlsDir?: string;
  /** Extra variables for every service (limits, log level, ...). */
  extraEnv?: Record<string, string>;
  /** Secrets to reuse across runs (a persistent data directory); generated for this run when omitted. */
  secrets?: RegistrySecrets;
  /** Called as each service becomes ready, with its start-up time. */
  onReady?: (service: ServiceName, milliseconds: number) => void;
}

export interface RunningRegistry {
  gatewayUrl: string;
  /** "host:port" of the registry, as docker wants it. */
  registryHost: string;
  /** The admin API for users' tools (registryctl): the gateway's admin port. */
  adminAddress: string;
  /** Internal ports: they answer only callers with a certificate of the internal CA (see tlsDir). */
  grpcAddresses: Record<InternalServiceName, string>;
  /** Plaintext ports with only grpc.health.v1 and reflection. */
  healthAddresses: Record<InternalServiceName, string>;
  /** A service's INTERNAL_TLS_DIR (ca.crt, tls.crt, tls.key), e.g. to call an internal port as that service in a test. */
  tlsDir(service: ServiceName): string;
  logFile(service: ServiceName): string;
  /** The Prometheus endpoint of a running service. */
  metricsUrl(service: ServiceName): string;
  /** The operator created at start (OPERATOR_EMAILS, BOOTSTRAP_ADMIN_*): its API token administers everything. */
  operator: { email: string; token: string; authorization: string };
  /** Process id of each running service. */
  pid(service: ServiceName): number | undefined;
  /** SIGTERM to every service (they shut down gracefully); resolves when all exited. */
  stop(): Promise<void>;
  /** Stops and starts one service with the same ports and environment (plus `extraEnv`, kept for later restarts). */
  restart(service: ServiceName, extraEnv?: Record<string, string>): Promise<void>;
  /** Another gateway replica beside the first (same services, own HTTP, admin and metrics ports); stop() stops it too. */
  addGateway(): Promise<{ gatewayUrl: string; logFile: string }>;
}

/**
 * The indexer counts as ready once it logs that it consumes events (see
 * launch), an info line: a quieter LOG_LEVEL would only end in a timeout.
 */
function requireIndexerReadinessLine(env: Record<string, string> | undefined): void {
  const level = env?.LOG_LEVEL;
  if (level && ['warn', 'error', 'fatal', 'silent'].includes(level)) {
    throw new Error(`LOG_LEVEL=${level} hides the indexer's readiness line; start at info (restart('gateway', { LOG_LEVEL }) quietens the gateway afterwards)`);
  }
}

/** Starts the services as separate processes on 127.0.0.1, talking gRPC, and waits until each is ready. */
export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  requireIndexerReadinessLine(options.extraEnv);
  mkdirSync(options.logDir, { recursive: true });
  const ports = Object.fromEntries(await Promise.all(INTERNAL_SERVICES.map(async (name) => [name, options.grpcPorts?.[name] ?? (await freePort())] as const))) as Record<InternalServiceName, number>;
  const grpcAddresses = Object.fromEntries(INTERNAL_SERVICES.map((name) => [name, `127.0.0.1:${ports[name]}`])) as RunningRegistry['grpcAddresses'];
  const healthPorts = Object.fromEntries(await Promise.all(INTERNAL_SERVICES.map(async (name) => [name, await freePort()] as const))) as Record<InternalServiceName, number>;
  const healthAddresses = Object.fromEntries(INTERNAL_SERVICES.map((name) => [name, `127.0.0.1:${healthPorts[name]}`])) as RunningRegistry['healthAddresses'];
  const gatewayPort = options.gatewayPort ?? (await freePort());
  const adminPort = options.adminPort ?? (await freePort());
  const tlsDirs = await ensureServiceTls(options.tlsDir ?? path.join(options.logDir, 'tls'), SERVICE_NAMES);

  const secrets = options.secrets ?? generateRegistrySecrets();
  const operator = secrets.operator;
  const common: Record<string, string> = {
    ...options.dependencyEnv,
    // A consumer group of its own: registries sharing one Kafka (parallel tests) never stall each
    // other's rebalances. The indexer joins before the registry counts as ready (see launch), so
    // starting at the end of the topic loses nothing.
    KAFKA_GROUP_ID: `ocireg-indexer-${randomBytes(6).toString('hex')}`,
    WEBHOOKS_GROUP_ID: `ocireg-webhooks-${randomBytes(6).toString('hex')}`,
    OPERATOR_EMAILS: operator.email,
    BOOTSTRAP_ADMIN_EMAIL: operator.email,
    BOOTSTRAP_ADMIN_TOKEN: operator.token,
    // One pepper per stack: API tokens hash the same way on every auth process of this run.
    AUTH_TOKEN_PEPPER: secrets.tokenPepper,
    GRPC_HOST: '127.0.0.1',
    HTTP_HOST: '127.0.0.1',
    ADMIN_GRPC_HOST: '127.0.0.1',
    METRICS_HOST: '127.0.0.1',
    ...Object.fromEntries(INTERNAL_SERVICES.map((name) => [addressVariable(name), grpcAddresses[name]])),
    ...options.extraEnv,
  };
  const envOf = async (name: ServiceName): Promise<Record<string, string>> => ({
    ...common,
    METRICS_PORT: String(await freePort()),
    INTERNAL_TLS_DIR: tlsDirs[name]!,
    ...(name === 'auth' && secrets.signingKey ? { AUTH_SIGNING_KEY: secrets.signingKey } : {}),
    ...(name === 'webhooks' && secrets.webhookSecretsKey ? { WEBHOOK_SECRETS_KEY: secrets.webhookSecretsKey } : {}),
    ...(name === 'metadata' && secrets.upstreamCredentialsKey ? { UPSTREAM_CREDENTIALS_KEY: secrets.upstreamCredentialsKey } : {}),
    ...(name === 'gateway' ? { HTTP_PORT: String(gatewayPort), ADMIN_GRPC_PORT: String(adminPort) } : { GRPC_PORT: String(ports[name]), GRPC_HEALTH_PORT: String(healthPorts[name]) }),
  });

  const envs = new Map<ServiceName, Record<string, string>>();
  const children = new Map<ServiceName, ChildProcess>();
  const logFile = (name: ServiceName) => path.join(options.logDir, `${name}.log`);

  /** Starts one process of a service (`track` learns of it at once) and waits until it is ready. */
  const spawnService = async (name: ServiceName, env: Record<string, string>, log: string, track: (child: ChildProcess) => void) => {
    const started = Date.now();
    const output = createWriteStream(log, { flags: 'a' });
    const runtime = serviceSpec(name).node;
    const child = spawn(process.execPath, [...(runtime?.flags ?? []), path.join(REPO_ROOT, 'services', name, 'dist', 'main.js')], {
      env: { PATH: process.env.PATH ?? '', ...runtime?.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(output);
    child.stderr!.pipe(output);
    track(child);
    const logStart = logSize(log);
    await waitReady(name, child, () => (name === 'gateway' ? checkHttp(`http://127.0.0.1:${env.HTTP_PORT}/v2/`) : checkGrpc(healthAddresses[name])), log);
    // The indexer serves before it has joined its consumer group; pushes made before that would be missed by a new group.
    if (name === 'indexer') await waitReady(name, child, async () => logSince(log, logStart).includes('"msg":"consuming registry events"'), log);
    if (name === 'webhooks') await waitReady(name, child, async () => logSince(log, logStart).includes('"msg":"consuming registry events for webhooks"'), log);
    options.onReady?.(name, Date.now() - started);
  };

  const launch = async (name: ServiceName) => {
    const env = envs.get(name) ?? (await envOf(name));
    envs.set(name, env);
    await spawnService(name, env, logFile(name), (child) => children.set(name, child));
  };
  /** Gateways beyond the first (addGateway). */
  const replicas: ChildProcess[] = [];

  const stopChild = async (child: ChildProcess | undefined) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const stopOne = (name: ServiceName) => stopChild(children.get(name));

  const stop = async () => {
    await Promise.all([...replicas.map(stopChild), ...[...children.keys()].map(stopOne)]);
  };

  try {
    for (const group of STARTUP_GROUPS) await Promise.all(group.map(launch));
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    registryHost: `127.0.0.1:${gatewayPort}`,
    adminAddress: `127.0.0.1:${adminPort}`,
    grpcAddresses,
    healthAddresses,
    tlsDir: (name) => tlsDirs[name]!,
    operator: { ...operator, authorization: `Bearer ${operator.token}` },
    logFile,
    metricsUrl: (name) => `http://127.0.0.1:${envs.get(name)?.METRICS_PORT ?? ''}/metrics`,
    pid: (name) => children.get(name)?.pid,
    stop,
    async restart(name, extraEnv) {
      if (name === 'indexer') requireIndexerReadinessLine(extraEnv);
      await stopOne(name);
      if (extraEnv) envs.set(name, { ...envs.get(name)!, ...extraEnv });
      await launch(name);
    },
    async addGateway() {
      const httpPort = await freePort();
      const env = { ...envs.get('gateway')!, HTTP_PORT: String(httpPort), ADMIN_GRPC_PORT: String(await freePort()), METRICS_PORT: String(await freePort()) };
      const log = path.join(options.logDir, `gateway-${replicas.length + 2}.log`);
      await spawnService('gateway', env, log, (child) => replicas.push(child));
      return { gatewayUrl: `http://127.0.0.1:${httpPort}`, logFile: log };
    },
  };
}

async function checkGrpc(address: string): Promise<boolean> {
  return (await checkGrpcHealth(address).catch(() => 'DOWN')) === 'SERVING';
}

/** The gateway answers /v2/ (401 without credentials is an answer). */
async function checkHttp(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    return response.status < 500 && response.headers.get('docker-distribution-api-version') === 'registry/2.0';
  } catch {
    return false;
  }
}

async function waitReady(name: string, child: ChildProcess, isReady: () => Promise<boolean>, logPath: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} during start-up; last lines of ${logPath}:\n${tail(logPath)}`);
    if (await isReady()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} was not ready within ${timeoutMs / 1000} s; last lines of ${logPath}:\n${tail(logPath)}`);
}

function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function logSince(file: string, offset: number): string {
  try {
    return readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
