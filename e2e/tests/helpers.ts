import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createPushableWorkspace, createUserWithToken, REPO_ROOT, startRegistry, type RunningRegistry, type ServiceName, type UserToken } from '@ocireg/devstack';
import { createGrpcClient } from '@ocireg/grpc';
import { TlsMaterial } from '@ocireg/service-identity';

const execFileAsync = promisify(execFile);

// Each test file logs docker in on its own, so parallel files never share a credentials file.
process.env.DOCKER_CONFIG = mkdtempSync(path.join(tmpdir(), 'ocireg-docker-config-'));

/** Runs a client command; failures carry its stderr so the test output says why. */
export async function run(command: string, args: string[], options: { env?: Record<string, string>; cwd?: string; withStderr?: boolean; input?: string } = {}): Promise<string> {
  try {
    const pending = execFileAsync(command, args, { env: { ...process.env, ...options.env }, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 });
    // Commands that never read stdin may exit before we close it: ignore that EPIPE.
    pending.child.stdin?.on('error', () => undefined);
    pending.child.stdin?.end(options.input ?? '');
    const { stdout, stderr } = await pending;
    return (options.withStderr ? `${stdout}\n${stderr}` : stdout).trim();
  } catch (err) {
    const failure = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${failure.stderr || failure.stdout || failure.message}`);
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `ocireg-${prefix}-`));
}

/**
 * Every secret handed out and every log directory, for the check that no
 * secret reaches a log (scripts/check-logs-for-secrets.mjs, run by test.sh).
 */
const AUDIT_DIR = path.join(REPO_ROOT, 'reports', 'secret-audit');

export function recordSecret(secret: string): void {
  mkdirSync(AUDIT_DIR, { recursive: true });
  appendFileSync(path.join(AUDIT_DIR, 'secrets.txt'), `${secret}\n`);
}

/** A directory of service logs to check for secrets after the run. */
export function recordLogDir(dir: string): void {
  mkdirSync(AUDIT_DIR, { recursive: true });
  appendFileSync(path.join(AUDIT_DIR, 'log-dirs.txt'), `${dir}\n`);
}

/** The five services against the dependencies the global setup started, blobs in its MinIO unless `extraEnv` says otherwise (STORAGE_BACKEND). */
export async function startTestRegistry(extraEnv: Record<string, string> = {}, options: { gatewayPort?: number } = {}): Promise<RunningRegistry> {
  const dependencyEnv = {
    ...Object.fromEntries(
      ['DATABASE_URL', 'REDIS_URL', 'KAFKA_BROKERS', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET', 'S3_REGION'].map((name) => {
        const value = process.env[name];
        if (!value) throw new Error(`${name} is not set: run the e2e tests through the integration project (vitest --project integration)`);
        return [name, value];
      }),
    ),
    STORAGE_BACKEND: 's3',
  };
  const logDir = tempDir('logs');
  recordLogDir(logDir);
  const registry = await startRegistry({ dependencyEnv, logDir, gatewayPort: options.gatewayPort, extraEnv: { LOG_LEVEL: 'debug', ...extraEnv } });
  recordSecret(registry.operator.token);
  return registry;
}

export function uniqueName(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export interface TestWorkspace {
  slug: string;
  sourceRepositoryId: string;
  /** Admin of the workspace's repository, with a token of every scope. */
  admin: UserToken;
}

/** A new workspace that creates packages on first push, and an Admin user with a token. */
export async function newWorkspace(registry: RunningRegistry, prefix = 'ws'): Promise<TestWorkspace> {
  const workspace = await createPushableWorkspace(registry.adminAddress, uniqueName(prefix), registry.operator.authorization);
  const admin = await createUserWithToken(
    registry.adminAddress,
    { email: `admin@${workspace.slug}.example.com`, scopes: ['read:package', 'write:package', 'admin:package'], sourceRepositoryId: workspace.sourceRepositoryId, role: 'admin' },
    registry.operator.authorization,
  );
  recordSecret(admin.token);
  return { ...workspace, admin };
}

/** `docker login` the way a CI pipeline does it: the token on stdin. */
export async function dockerLogin(registry: RunningRegistry, user: UserToken): Promise<string> {
  return run('docker', ['login', registry.registryHost, '--username', user.email, '--password-stdin'], { input: user.token, withStderr: true });
}

/** A new workspace whose Admin is logged in with docker. */
export async function loginNewWorkspace(registry: RunningRegistry, prefix = 'ws'): Promise<TestWorkspace> {
  const workspace = await newWorkspace(registry, prefix);
  await dockerLogin(registry, workspace.admin);
  return workspace;
}

/** HTTP Basic credentials (email + API token), which the API accepts directly too. */
export function basicAuth(user: UserToken): string {
  return `Basic ${Buffer.from(`${user.email}:${user.token}`).toString('base64')}`;
}

type GrpcClientConstructor<C> = Parameters<typeof createGrpcClient<C>>[0];

/** A client of the admin port (the gateway's), as registryctl uses it. */
export function adminPortClient<C>(registry: RunningRegistry, Client: GrpcClientConstructor<C>): C {
  return createGrpcClient(Client, registry.adminAddress, { kind: 'public' });
}

/** A client of a service's internal port, proving the identity of `as` with its certificate (the gateway's by default). */
export function internalClient<C>(registry: RunningRegistry, Client: GrpcClientConstructor<C>, service: Exclude<ServiceName, 'gateway'>, as: ServiceName = 'gateway'): C {
  return createGrpcClient(Client, registry.grpcAddresses[service], { kind: 'internal', tls: new TlsMaterial(registry.tlsDir(as)), service });
}
