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
  it('passes helm lint', async () => {
    const { stdout } = await execFileAsync('helm', ['lint', CHART, ...REQUIRED]);
    expect(stdout).toContain('0 chart(s) failed');
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

  it('refuses to render without an S3 endpoint, naming the value', async () => {
    await expect(execFileAsync('helm', ['template', 'test', CHART, '--set', 'kafka.brokers=kafka:9092'])).rejects.toThrow(/s3.endpoint is required/);
    await expect(execFileAsync('helm', ['template', 'test', CHART, '--set', 's3.endpoint=http://minio:9000'])).rejects.toThrow(/kafka.brokers is required/);
  });
});
