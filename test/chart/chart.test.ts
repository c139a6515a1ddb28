import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);
const CHART = path.resolve(__dirname, '../../charts/ocireg');
const REQUIRED = ['--set', 's3.endpoint=http://minio:9000', '--set', 'kafka.brokers=kafka:9092'];

interface Manifest {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: any;
}

/** Renders the chart with helm and parses every YAML document. */
async function render(extra: string[] = []): Promise<Manifest[]> {
  const { stdout } = await execFileAsync('helm', ['template', 'test', CHART, ...REQUIRED, ...extra]);
  const { parseAllDocuments } = await import('yaml');
  return parseAllDocuments(stdout).map((doc) => doc.toJSON()).filter(Boolean) as Manifest[];
}

describe('Helm chart', () => {
  it('passes helm lint with default values and with every feature on', async () => {
    const { stdout } = await execFileAsync('helm', ['lint', CHART, ...REQUIRED]);
    expect(stdout).toContain('0 chart(s) failed');
    const { stdout: allFeatures } = await execFileAsync('helm', ['lint', CHART, '--strict', '-f', path.join(CHART, 'ci', 'all-features-values.yaml')]);
    expect(allFeatures).toContain('0 chart(s) failed');
  });

  it('runs every workload non-root, read-only, without capabilities, with probes of the right kind', async () => {
    const deployments = (await render()).filter((m) => m.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['test-ocireg-auth', 'test-ocireg-blob-upload', 'test-ocireg-gateway', 'test-ocireg-indexer', 'test-ocireg-metadata']);
    for (const deployment of deployments) {
      const pod = deployment.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, deployment.metadata.name).toBe(true);
      for (const container of pod.containers) {
        expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        const isGateway = deployment.metadata.name.endsWith('gateway');
        for (const probe of [container.livenessProbe, container.readinessProbe]) {
          if (isGateway) expect(probe.httpGet.path).toBe('/v2/');
          else expect(probe.grpc.port).toBeGreaterThan(0);
        }
      }
    }
  });

  it('gives each service the environment its config requires', async () => {
    const deployments = (await render()).filter((m) => m.kind === 'Deployment');
    const envOf = (name: string) => new Set<string>(deployments.find((d) => d.metadata.name === `test-ocireg-${name}`)!.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name));
    // The variables each service's config.ts requires (those without defaults).
    const required: Record<string, string[]> = {
      gateway: ['AUTH_ADDR', 'METADATA_ADDR', 'BLOB_UPLOAD_ADDR', 'INDEXER_ADDR', 'REDIS_URL', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET'],
      'blob-upload': ['REDIS_URL', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'S3_BUCKET'],
      metadata: ['DATABASE_URL', 'REDIS_URL', 'AUTH_ADDR', 'KAFKA_BROKERS'],
      auth: ['DATABASE_URL', 'REDIS_URL', 'METADATA_ADDR', 'AUTH_TOKEN_PEPPER'],
      indexer: ['DATABASE_URL', 'KAFKA_BROKERS'],
    };
    for (const [service, variables] of Object.entries(required)) {
      for (const variable of variables) expect(envOf(service), `${service} ${variable}`).toContain(variable);
    }
  });

  it('lets the gateway ingress take unlimited bodies for long uploads', async () => {
    const ingress = (await render(['--set', 'gateway.ingress.enabled=true'])).find((m) => m.kind === 'Ingress')!;
    expect(ingress.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/proxy-body-size': '0',
      'nginx.ingress.kubernetes.io/proxy-request-buffering': 'off',
    });
    expect(Number(ingress.metadata.annotations!['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(420);
  });

  it('lets exactly the designed calls through its NetworkPolicies', async () => {
    const policies = (await render()).filter((m) => m.kind === 'NetworkPolicy');
    const componentOf = (selector: any): string | undefined => selector?.matchLabels?.['app.kubernetes.io/component'];
    const edges = new Set<string>();
    for (const policy of policies) {
      const target = componentOf(policy.spec.podSelector);
      if (!target) {
        expect(policy.spec.ingress ?? [], 'the default policy allows nothing').toEqual([]);
        expect(policy.spec.egress ?? []).toEqual([]);
        continue;
      }
      for (const rule of policy.spec.ingress ?? []) {
        for (const peer of rule.from ?? []) {
          const from = componentOf(peer.podSelector) ?? `namespace:${peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']}`;
          edges.add(`${from} -> ${target}:${rule.ports.map((p: { port: number }) => p.port).join(',')}`);
        }
      }
      for (const rule of policy.spec.egress ?? []) {
        const ports = rule.ports.map((p: { port: number }) => p.port).join(',');
        const peers = rule.to ?? [{ any: true }];
        for (const peer of peers) edges.add(`${target} => ${componentOf(peer.podSelector) ?? 'external'}:${ports}`);
      }
    }
    expect([...edges].sort()).toEqual(
      [
        'namespace:ingress-nginx -> gateway:5000',
        ...['gateway', 'auth', 'metadata', 'blob-upload', 'indexer'].map((c) => `namespace:monitoring -> ${c}:9100`),
        'gateway -> auth:50051',
        'metadata -> auth:50051',
        'gateway -> metadata:50052',
        'auth -> metadata:50052',
        'gateway -> blob-upload:50053',
        'gateway -> indexer:50054',
        ...['gateway', 'auth', 'metadata', 'blob-upload', 'indexer', 'migrations'].map((c) => `${c} => external:53,53`),
        'gateway => auth:50051',
        'gateway => metadata:50052',
        'gateway => blob-upload:50053',
        'gateway => indexer:50054',
        'auth => metadata:50052',
        'metadata => auth:50051',
        'gateway => external:9000',
        'gateway => external:6379',
        'auth => external:5432',
        'auth => external:6379',
        'metadata => external:5432',
        'metadata => external:6379',
        'metadata => external:9092',
        'blob-upload => external:9000',
        'blob-upload => external:6379',
        'indexer => external:5432',
        'indexer => external:9092',
        'migrations => external:5432',
      ].sort(),
    );
  });

  it('runs migrations in a hook before the services, which then do not migrate', async () => {
    const manifests = await render();
    const job = manifests.find((m) => m.kind === 'Job')!;
    expect((job.metadata.annotations as Record<string, string>)['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const steps = [...job.spec.template.spec.initContainers, ...job.spec.template.spec.containers].map((c: { args: string[] }) => c.args[0]);
    expect(steps).toEqual(['services/metadata/dist/migrate-cli.js', 'services/auth/dist/migrate-cli.js', 'services/indexer/dist/migrate-cli.js']);
    for (const name of ['metadata', 'auth', 'indexer']) {
      const env = manifests.find((m) => m.kind === 'Deployment' && m.metadata.name === `test-ocireg-${name}`)!.spec.template.spec.containers[0].env;
      expect(env.find((e: { name: string }) => e.name === 'MIGRATE_ON_START').value).toBe('false');
    }
  });

  it('has disruption budgets for replicated services, and optional autoscaling and ServiceMonitors', async () => {
    const defaults = await render();
    expect(defaults.filter((m) => m.kind === 'PodDisruptionBudget').map((m) => m.metadata.name).sort()).toEqual(['test-ocireg-auth', 'test-ocireg-blob-upload', 'test-ocireg-gateway', 'test-ocireg-metadata']);
    expect(defaults.some((m) => m.kind === 'HorizontalPodAutoscaler' || m.kind === 'ServiceMonitor')).toBe(false);
    const all = await render(['-f', path.join(CHART, 'ci', 'all-features-values.yaml')]);
    expect(all.filter((m) => m.kind === 'HorizontalPodAutoscaler')).toHaveLength(2);
    expect(all.filter((m) => m.kind === 'ServiceMonitor')).toHaveLength(5);
    expect(all.some((m) => m.kind === 'Ingress')).toBe(true);
  });

  it('validates values against values.schema.json with messages that name the value', async () => {
    await expect(render(['--set', 'gateway.replicas=0'])).rejects.toThrow(/gateway\/replicas.*minimum/);
    await expect(render(['--set', 'logLevel=loud'])).rejects.toThrow(/logLevel.*must be one of/);
    await expect(render(['--set', 'limits.maxBlobSize=lots'])).rejects.toThrow(/maxBlobSize/);
  });

  it('refuses to render without an S3 endpoint, naming the value', async () => {
    await expect(execFileAsync('helm', ['template', 'test', CHART, '--set', 'kafka.brokers=kafka:9092'])).rejects.toThrow(/s3.endpoint is required/);
    await expect(execFileAsync('helm', ['template', 'test', CHART, '--set', 's3.endpoint=http://minio:9000'])).rejects.toThrow(/kafka.brokers is required/);
  });
});
