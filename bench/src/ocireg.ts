import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createPushableWorkspace, createUserWithToken, startRegistry, type RunningRegistry, type ServiceName } from '@ocireg/devstack';
import { startEmbeddedPostgres, type RunningPostgres } from '@ocireg/quickstart';
import { REPOSITORY, type Target } from './target';

export const SERVICES: ServiceName[] = ['gateway', 'blob-upload', 'metadata', 'auth', 'indexer'];

export interface RunningOcireg {
  target: Target;
  /** The services, and the workspace the target's repository is in, with its Write user (for benchmarks that set up more, such as an upstream). */
  registry: RunningRegistry;
  workspace: { slug: string; sourceRepositoryId: string };
  user: { email: string; token: string };
  stop(): Promise<void>;
}

/**
 * Our embedded filesystem mode, as `pnpm start` runs it: embedded PostgreSQL,
 * blobs, upload sessions and events under one DATA_DIR; no Redis, Kafka or MinIO.
 */
export async function startEmbeddedOcireg(dir: string, serviceEnv: Record<string, string> = {}): Promise<RunningOcireg> {
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(dir, 'postgres'), password: randomBytes(16).toString('hex'), logFile: path.join(dir, 'logs', 'postgres.log') });
  try {
    return await startOcireg('ocireg, embedded filesystem mode', { DATABASE_URL: postgres.url, STORAGE_BACKEND: 'filesystem', DATA_DIR: dir }, dir, { postgres: postgres.pid! }, serviceEnv, postgres);
  } catch (err) {
    await postgres.stop();
    throw err;
  }
}

/** Our production mode: PostgreSQL, Redis and an object store (`dependencyEnv`, with its STORAGE_BACKEND) as local processes. */
export function startServerOcireg(label: string, dir: string, dependencyEnv: Record<string, string>, dependencyPids: Record<string, number>, serviceEnv: Record<string, string> = {}): Promise<RunningOcireg> {
  return startOcireg(label, dependencyEnv, dir, dependencyPids, serviceEnv);
}

async function startOcireg(
  label: string,
  dependencyEnv: Record<string, string>,
  dir: string,
  dependencyPids: Record<string, number>,
  /** Extra variables for every service (NODE_OPTIONS to profile them). */
  serviceEnv: Record<string, string>,
  postgres?: RunningPostgres,
): Promise<RunningOcireg> {
  const registry = await startRegistry({ dependencyEnv, logDir: path.join(dir, 'logs'), extraEnv: serviceEnv });
  try {
    // Without its access log (info), as Distribution runs here; the other services log no line per request.
    // (Started at info: devstack knows the indexer is ready by an info line.)
    await registry.restart('gateway', { LOG_LEVEL: 'warn' });
    const workspace = await createPushableWorkspace(registry.adminAddress, REPOSITORY.split('/')[0]!, registry.operator.authorization);
    const user = await createUserWithToken(
      registry.adminAddress,
      { email: 'bench@example.com', scopes: ['read:package', 'write:package'], sourceRepositoryId: workspace.sourceRepositoryId, role: 'write', expiresInSeconds: 24 * 3600 },
      registry.operator.authorization,
    );
    const target: Target = {
      side: 'ocireg',
      label,
      url: registry.gatewayUrl,
      repository: REPOSITORY,
      authorization: () => registryToken(registry, user.email, user.token),
      processes: () => ({ ...Object.fromEntries(SERVICES.map((service) => [service, registry.pid(service)!])), ...dependencyPids }),
    };
    return {
      target,
      registry,
      workspace: { slug: workspace.slug, sourceRepositoryId: workspace.sourceRepositoryId },
      user: { email: user.email, token: user.token },
      async stop() {
        await registry.stop();
        await postgres?.stop();
      },
    };
  } catch (err) {
    await registry.stop();
    throw err;
  }
}

/** "Bearer <token>" from the registry's token endpoint, found as docker finds it: from the challenge of /v2/. */
async function registryToken(registry: RunningRegistry, email: string, apiToken: string): Promise<string> {
  const challenge = (await fetch(`${registry.gatewayUrl}/v2/`)).headers.get('www-authenticate') ?? '';
  const param = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(challenge)?.[1];
  const realm = param('realm');
  if (!realm) throw new Error(`no Bearer realm in the challenge of /v2/: ${challenge}`);
  const url = new URL(realm, registry.gatewayUrl);
  url.searchParams.set('service', param('service') ?? '');
  url.searchParams.set('scope', `repository:${REPOSITORY}:pull,push`);
  const res = await fetch(url, { headers: { Authorization: `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}` } });
  if (!res.ok) throw new Error(`token endpoint: ${res.status} ${await res.text()}`);
  return `Bearer ${((await res.json()) as { token: string }).token}`;
}
