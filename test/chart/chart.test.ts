// Renders charts/ocireg with helm and checks what every deployment of the
// registry relies on: hardened pods, the right probes, the environment each
// service's config.ts requires, an ingress fit for 32 GiB layers and 7-minute
// uploads, NetworkPolicies that let exactly the designed calls through, and
// values.schema.json errors that name the bad value.
// helm: $HELM, else the one scripts/deps/helm.sh builds (cached).
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlockList } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = path.resolve(__dirname, '../..');
const CHART = path.join(ROOT, 'charts/ocireg');
const ALL_FEATURES = path.join(CHART, 'ci/all-features-values.yaml');
// The services, whom each calls and what each uses: the topology the chart renders from (generated from libs/topology).
const TOPOLOGY = parse(readFileSync(path.join(CHART, 'topology.yaml'), 'utf8')) as { services: { name: string; calls: string[]; uses: string[]; outbound?: boolean }[] };
const SERVICES = TOPOLOGY.services.map((s) => s.name);
type Service = string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}

let helmPath: string | undefined;
function helm(): string {
  helmPath ??= process.env.HELM || execFileSync('bash', [path.join(ROOT, 'scripts/deps/helm.sh'), 'helm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return helmPath;
}

function template(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(helm(), ['template', 'ocireg', CHART, '--namespace', 'registry', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function render(args: string[] = []): Manifest[] {
  const result = template(args);
  if (result.status !== 0) throw new Error(`helm template ${args.join(' ')} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => doc.toJSON()).filter(Boolean) as Manifest[];
}

const RENDERS: Record<string, string[]> = {
  default: [],
  'all features': ['-f', ALL_FEATURES],
  trial: ['--set', 'trial.enabled=true'],
  'azure, workload identity': ['--set', 'storage.backend=azure', '--set', 'azure.account=ociregprod', '--set', 'azure.workloadIdentity.enabled=true', '--set', 'azure.workloadIdentity.clientId=00000000-0000-0000-0000-000000000001'],
  'gcs, key file': ['--set', 'storage.backend=gcs', '--set', 'gcs.bucket=ocireg-prod', '--set', 'gcs.existingSecret=ocireg-gcs', '--set', 'gcs.keyFileKey=sa.json'],
};
const renders = new Map<string, Manifest[]>();
beforeAll(() => {
  for (const [name, args] of Object.entries(RENDERS)) renders.set(name, render(args));
});
function rendered(name: string): Manifest[] {
  const manifests = renders.get(name);
  if (!manifests) throw new Error(`no render named ${name}`);
  return manifests;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);
const workloads = (manifests: Manifest[]) => manifests.filter((m) => WORKLOAD_KINDS.has(m.kind));
const componentOf = (m: Manifest) => m.spec.template.metadata.labels['app.kubernetes.io/component'] as string;
const deploymentOf = (manifests: Manifest[], service: Service) => manifests.find((m) => m.kind === 'Deployment' && componentOf(m) === service)!;

/** The variables a zod object literal declares (keys at two spaces' indent), and which have no default. */
function schemaVariables(body: string): { all: string[]; required: string[] } {
  const all: string[] = [];
  const required: string[] = [];
  const keys = [...body.matchAll(/^\s{2}([A-Z][A-Z0-9_]*):/gm)];
  keys.forEach((match, i) => {
    const name = match[1] ?? '';
    // The whole expression, over several lines if need be, up to the next key.
    const expression = body.slice(match.index! + match[0].length, keys[i + 1]?.index ?? body.length);
    all.push(name);
    const hasDefault = /\.default\(|\.optional\(\)|env\.(port|host|logLevel|bytes|seconds|optional\w*)\(/.test(expression);
    if (!hasDefault) required.push(name);
  });
  return { all, required };
}

/** Where shared settings are defined: libs/config (grpcServiceSettings) and libs/storage (blobStoreSettings and each backend's). */
const SETTINGS_SOURCES = ['libs/config/src/index.ts', ...readdirSync(path.join(ROOT, 'libs/storage/src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => `libs/storage/src/${f}`)].map((file) => readFileSync(path.join(ROOT, file), 'utf8'));

/** The variables of a zod object literal, and of the shared settings it spreads in (`...nameSettings()`), those spread in theirs too. */
function blockVariables(block: string, where: string): { all: string[]; required: string[] } {
  const own = schemaVariables(block);
  const spread = [...block.matchAll(/\.\.\.(\w+Settings)\(/g)].map(([, name]) => {
    const source = SETTINGS_SOURCES.find((text) => text.includes(`export const ${name} `));
    if (!source) throw new Error(`${where} spreads ${name}, which neither libs/config nor libs/storage exports`);
    const start = source.slice(source.indexOf(`export const ${name} `));
    return blockVariables(start.slice(0, start.indexOf('\n});') + 1), `${name}()`);
  });
  return { all: [...spread.flatMap((b) => b.all), ...own.all], required: [...spread.flatMap((b) => b.required), ...own.required] };
}

/** The variables a service's config declares (its own, and the shared settings it spreads in). */
function configVariables(service: Service): { all: string[]; required: string[] } {
  const file = `services/${service}/src/config.ts`;
  const source = readFileSync(path.join(ROOT, file), 'utf8');
  const body = source.slice(source.indexOf('z.object({'));
  const variables = blockVariables(body.slice(0, body.indexOf('\n});') + 1), file);
  if (variables.all.length === 0) throw new Error(`no zod schema found in ${file}`);
  return variables;
}

describe('Helm chart: workloads', () => {
  it.each(Object.keys(RENDERS))('every workload (%s) runs non-root, read-only, without capabilities, with seccomp', (render) => {
    const list = workloads(rendered(render));
    expect(list.length).toBeGreaterThanOrEqual(render === 'trial' ? 10 : 6);
    for (const workload of list) {
      const pod = workload.spec.template.spec;
      const where = `${workload.kind}/${workload.metadata.name}`;
      expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const at = `${where} ${container.name}`;
        expect(container.securityContext, at).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
        expect(container.securityContext.capabilities?.drop, at).toContain('ALL');
        expect(container.securityContext.capabilities?.add ?? [], at).toEqual([]);
        expect(container.securityContext.privileged ?? false, at).toBe(false);
        expect(container.securityContext.seccompProfile?.type ?? pod.securityContext.seccompProfile?.type, at).toBe('RuntimeDefault');
        expect(container.resources?.limits?.memory, `${at} memory limit`).toBeTruthy();
      }
    }
  });

  it.each(Object.keys(RENDERS))('every service (%s) has liveness and readiness probes: gRPC health on the plaintext health port, HTTP GET /healthz (liveness) and /readyz (readiness) on the gateway (its /v2/ answers 401)', (render) => {
    for (const service of SERVICES) {
      const container = deploymentOf(rendered(render), service).spec.template.spec.containers[0];
      const env = Object.fromEntries(container.env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        expect(probe, service).toBeDefined();
        if (service === 'gateway') {
          expect(probe.httpGet.path).toBe(probe === container.readinessProbe ? '/readyz' : '/healthz');
          const port = container.ports.find((p: Obj) => p.name === probe.httpGet.port || p.containerPort === probe.httpGet.port);
          expect(port.containerPort).toBe(Number(env.HTTP_PORT));
          expect(probe.grpc).toBeUndefined();
        } else {
          // kubelet's gRPC probes cannot present a client certificate: they use the health port, not the mutual-TLS one.
          expect(probe.grpc.port, service).toBe(Number(env.GRPC_HEALTH_PORT));
          expect(probe.grpc.port, service).not.toBe(Number(env.GRPC_PORT));
          expect(container.ports.find((p: Obj) => p.name === 'health').containerPort).toBe(probe.grpc.port);
          expect(probe.httpGet).toBeUndefined();
        }
      }
    }
  });

  it('has a Deployment and a ClusterIP Service per service, and images per service', () => {
    const manifests = rendered('default');
    for (const service of SERVICES) {
      const deployment = deploymentOf(manifests, service);
      expect(deployment.spec.template.spec.containers[0].image).toBe(`ocireg-${service}:0.1.0`);
      const svc = manifests.find((m) => m.kind === 'Service' && m.spec.selector['app.kubernetes.io/component'] === service)!;
      expect(svc.spec.type).toBe('ClusterIP');
    }
    const all = rendered('all features');
    expect(deploymentOf(all, 'blob-upload').spec.template.spec.containers[0].image).toBe('registry.example.com/platform/ocireg-blob-upload:0.1.0');
  });
});

describe('Helm chart: environment', () => {
  it.each(Object.keys(RENDERS))('gives each service (%s) every variable its config requires, and only variables it reads', (render) => {
    const manifests = rendered(render);
    const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-config'))!;
    const chartSecret = manifests.find((m) => m.kind === 'Secret' && !m.metadata.annotations?.['helm.sh/hook'])!;
    for (const service of SERVICES) {
      const { all, required } = configVariables(service);
      const env: Obj[] = deploymentOf(manifests, service).spec.template.spec.containers[0].env;
      const names = env.map((e) => e.name);
      expect(new Set(names).size, `${service}: no duplicate variables`).toBe(names.length);
      for (const variable of required) expect(names, `${service} needs ${variable}`).toContain(variable);
      for (const name of names) expect([...all, 'NODE_ENV', 'NODE_OPTIONS'], `${service} sets ${name}, which its config does not read`).toContain(name);
      for (const e of env) {
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm) {
          expect(cm.name).toBe(configMap.metadata.name);
          expect(configMap.data, `${service} ${e.name}`).toHaveProperty(cm.key);
        }
        const secret = e.valueFrom?.secretKeyRef;
        if (secret && secret.name === chartSecret.metadata.name && !secret.optional) expect(chartSecret.data, `${service} ${e.name}`).toHaveProperty(secret.key);
      }
    }
  });

  it('gives blob-upload the write lease of limits.uploadLeaseSeconds (UPLOAD_LEASE_SECONDS, 5 s by default), and refuses one under a second', () => {
    const leaseOf = (manifests: Manifest[]) => {
      const env: Obj[] = deploymentOf(manifests, 'blob-upload').spec.template.spec.containers[0].env;
      const key = env.find((e) => e.name === 'UPLOAD_LEASE_SECONDS')?.valueFrom?.configMapKeyRef?.key;
      return manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-config'))!.data![key];
    };
    expect(leaseOf(rendered('default'))).toBe('5');
    expect(leaseOf(render(['--set', 'limits.uploadLeaseSeconds=12']))).toBe('12');
    expect(template(['--set', 'limits.uploadLeaseSeconds=0']).status).not.toBe(0);
  });

  it('gives metadata the restore window of metadata.restoreWindowSeconds (RESTORE_WINDOW_SECONDS, 7 days by default; 0 turns it off), and refuses a negative one', () => {
    const windowOf = (manifests: Manifest[]) => (deploymentOf(manifests, 'metadata').spec.template.spec.containers[0].env as Obj[]).find((e) => e.name === 'RESTORE_WINDOW_SECONDS')?.value;
    expect(windowOf(rendered('default'))).toBe('604800');
    expect(windowOf(render(['--set', 'metadata.restoreWindowSeconds=0']))).toBe('0');
    expect(template(['--set', 'metadata.restoreWindowSeconds=-1']).status).not.toBe(0);
  });

  it('turns migrations at start-up off (on in trial mode, whose hook runs after install) and runs every migration runner in a hook Job', () => {
    for (const [render, manifests] of renders) {
      for (const service of ['auth', 'metadata', 'indexer', 'webhooks'] as const) {
        const env: Obj[] = deploymentOf(manifests, service).spec.template.spec.containers[0].env;
        expect(env.find((e) => e.name === 'MIGRATE_ON_START')?.value, `${render} ${service}`).toBe(render === 'trial' ? 'true' : 'false');
      }
      const job = manifests.find((m) => m.kind === 'Job')!;
      expect(job.metadata.annotations!['helm.sh/hook']).toBe(render === 'trial' ? 'post-install,pre-upgrade' : 'pre-install,pre-upgrade');
      const pod = job.spec.template.spec;
      const steps = [...pod.initContainers, ...pod.containers].map((c: Obj) => c.args.join(' '));
      expect(steps).toEqual(['services/metadata/dist/migrate-cli.js', 'services/auth/dist/migrate-cli.js', 'services/indexer/dist/migrate-cli.js', 'services/webhooks/dist/migrate-cli.js']);
      for (const c of [...pod.initContainers, ...pod.containers]) expect(c.env.map((e: Obj) => e.name)).toContain('DATABASE_URL');
    }
  });

  it('takes credentials from existing Secrets when told to', () => {
    const manifests = rendered('all features');
    const env = (service: Service) => Object.fromEntries(deploymentOf(manifests, service).spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.valueFrom?.secretKeyRef]));
    expect(env('metadata').DATABASE_URL).toEqual({ name: 'ocireg-postgres', key: 'url' });
    expect(env('gateway').REDIS_URL).toEqual({ name: 'ocireg-redis', key: 'url' });
    expect(env('blob-upload').S3_SECRET_KEY).toEqual({ name: 'ocireg-s3', key: 'secret-key' });
    expect(env('auth').AUTH_SIGNING_KEY).toEqual({ name: 'ocireg-auth', key: 'AUTH_SIGNING_KEY' });
    const job = manifests.find((m) => m.kind === 'Job')!;
    expect(job.spec.template.spec.containers[0].env.find((e: Obj) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef).toEqual({ name: 'ocireg-postgres', key: 'url' });
  });
});

describe('Helm chart: storage backends (storage.backend)', () => {
  const STORAGE_SERVICES: Service[] = ['gateway', 'metadata', 'blob-upload'];
  const podOf = (manifests: Manifest[], service: Service) => deploymentOf(manifests, service).spec.template;
  const envOf = (manifests: Manifest[], service: Service): Record<string, Obj> => Object.fromEntries(podOf(manifests, service).spec.containers[0].env.map((e: Obj) => [e.name, e.value ?? e.valueFrom]));
  const configMapOf = (manifests: Manifest[]) => manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-config'))!.data!;
  const serviceAccountOf = (manifests: Manifest[]) => manifests.find((m) => m.kind === 'ServiceAccount')!;
  const chartSecretOf = (manifests: Manifest[]) => manifests.find((m) => m.kind === 'Secret' && m.metadata.name === 'ocireg')!;

  it('gives webhooks WEBHOOK_SECRETS_KEY from webhooks.secretsKeySecret, and nothing without it', () => {
    expect(envOf(rendered('default'), 'webhooks').WEBHOOK_SECRETS_KEY).toBeUndefined();
    const keyed = render(['--set', 'webhooks.secretsKeySecret=ocireg-webhook-key']);
    expect(envOf(keyed, 'webhooks').WEBHOOK_SECRETS_KEY).toEqual({ secretKeyRef: { name: 'ocireg-webhook-key', key: 'WEBHOOK_SECRETS_KEY' } });
    for (const service of ['metadata', 'gateway', 'auth'] as const) expect(envOf(keyed, service).WEBHOOK_SECRETS_KEY, service).toBeUndefined();
  });

  it('names s3 by default and in trial mode, and gives only the chosen backend its variables', () => {
    for (const render of ['default', 'trial']) expect(configMapOf(rendered(render)).STORAGE_BACKEND, render).toBe('s3');
    const azure = rendered('azure, workload identity');
    expect(configMapOf(azure)).toMatchObject({ STORAGE_BACKEND: 'azure', AZURE_STORAGE_ACCOUNT: 'ociregprod', AZURE_STORAGE_CONTAINER: 'ocireg-blobs', AZURE_STORAGE_ENDPOINT: 'https://ociregprod.blob.core.windows.net' });
    for (const service of STORAGE_SERVICES) {
      const env = envOf(azure, service);
      expect(Object.keys(env).filter((name) => /^(S3_|GCS_|GOOGLE_)/.test(name)), service).toEqual([]);
      expect(Object.keys(env), service).toEqual(expect.arrayContaining(['STORAGE_BACKEND', 'AZURE_STORAGE_ACCOUNT', 'AZURE_STORAGE_CONTAINER', 'AZURE_STORAGE_ENDPOINT']));
    }
    for (const service of ['auth', 'indexer'] as const) expect(Object.keys(envOf(azure, service)).filter((name) => /STORAGE|AZURE/.test(name)), service).toEqual([]);
    expect(template(['--set', 'trial.enabled=true', '--set', 'storage.backend=gcs']).stderr).toMatch(/trial.enabled=true keeps blobs in its own MinIO: storage.backend must be s3/);
  });

  it('azure: workload identity labels the storage pods and names the identity on the ServiceAccount, with no key; a key comes from the chart Secret or an existing one', () => {
    const identity = rendered('azure, workload identity');
    expect(serviceAccountOf(identity).metadata.annotations).toMatchObject({ 'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000001' });
    for (const service of STORAGE_SERVICES) {
      expect(podOf(identity, service).metadata.labels['azure.workload.identity/use'], service).toBe('true');
      expect(envOf(identity, service).AZURE_STORAGE_KEY, service).toBeUndefined();
    }
    expect(podOf(identity, 'auth').metadata.labels['azure.workload.identity/use']).toBeUndefined();
    const azure = ['--set', 'storage.backend=azure', '--set', 'azure.account=ociregprod'];
    const keyed = render([...azure, '--set', 'azure.accountKey=c2VjcmV0', '--set', 'azure.endpoint=https://blobs.example.com/ociregprod']);
    const secret = chartSecretOf(keyed);
    expect(Buffer.from(secret.data!.AZURE_STORAGE_KEY!, 'base64').toString()).toBe('c2VjcmV0');
    expect(envOf(keyed, 'blob-upload').AZURE_STORAGE_KEY).toEqual({ secretKeyRef: { name: secret.metadata.name, key: 'AZURE_STORAGE_KEY' } });
    expect(configMapOf(keyed).AZURE_STORAGE_ENDPOINT).toBe('https://blobs.example.com/ociregprod');
    expect(podOf(keyed, 'gateway').metadata.labels['azure.workload.identity/use']).toBeUndefined();
    const existing = render([...azure, '--set', 'azure.existingSecret=ocireg-azure', '--set', 'azure.accountKeyKey=key']);
    expect(envOf(existing, 'metadata').AZURE_STORAGE_KEY).toEqual({ secretKeyRef: { name: 'ocireg-azure', key: 'key' } });
    expect(template(azure).stderr).toMatch(/storage.backend=azure needs azure.accountKey, azure.existingSecret or azure.workloadIdentity.enabled/);
    expect(template([...azure, '--set', 'azure.workloadIdentity.enabled=true']).stderr).toMatch(/azure.workloadIdentity.enabled needs azure.workloadIdentity.clientId/);
    expect(template(['--set', 'storage.backend=azure']).stderr).toMatch(/azure.account is required with storage.backend=azure/);
  });

  it('gcs: a service account key is a file mounted into the storage pods alone (GOOGLE_APPLICATION_CREDENTIALS); workload identity names the Google account on the ServiceAccount', () => {
    const keyed = rendered('gcs, key file');
    expect(configMapOf(keyed)).toMatchObject({ STORAGE_BACKEND: 'gcs', GCS_BUCKET: 'ocireg-prod' });
    for (const service of STORAGE_SERVICES) {
      const pod = podOf(keyed, service).spec;
      expect(envOf(keyed, service).GOOGLE_APPLICATION_CREDENTIALS, service).toBe('/etc/ocireg/gcs/key.json');
      expect(pod.containers[0].volumeMounts, service).toContainEqual({ name: 'gcs-key', mountPath: '/etc/ocireg/gcs', readOnly: true });
      // Readable as the internal TLS material is (the same defaultMode).
      const tlsMode = pod.volumes.find((v: Obj) => v.name === 'internal-tls').secret.defaultMode;
      expect(pod.volumes.find((v: Obj) => v.name === 'gcs-key').secret, service).toEqual({ secretName: 'ocireg-gcs', defaultMode: tlsMode, items: [{ key: 'sa.json', path: 'key.json' }] });
    }
    for (const service of ['auth', 'indexer'] as const) expect(podOf(keyed, service).spec.volumes.map((v: Obj) => v.name), service).not.toContain('gcs-key');
    // As an operator passes a key: --set-file gcs.keyFile=key.json.
    const keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'ocireg-chart-')), 'key.json');
    writeFileSync(keyFile, '{"type":"service_account"}');
    const inChart = render(['--set', 'storage.backend=gcs', '--set-file', `gcs.keyFile=${keyFile}`]);
    const secret = chartSecretOf(inChart);
    expect(Buffer.from(secret.data!.GCS_KEY_JSON!, 'base64').toString()).toBe('{"type":"service_account"}');
    expect(podOf(inChart, 'gateway').spec.volumes.find((v: Obj) => v.name === 'gcs-key').secret.items).toEqual([{ key: 'GCS_KEY_JSON', path: 'key.json' }]);
    const identity = render(['--set', 'storage.backend=gcs', '--set', 'gcs.workloadIdentity.serviceAccount=registry@prod.iam.gserviceaccount.com', '--set', 'gcs.projectId=prod']);
    expect(serviceAccountOf(identity).metadata.annotations).toMatchObject({ 'iam.gke.io/gcp-service-account': 'registry@prod.iam.gserviceaccount.com' });
    expect(envOf(identity, 'blob-upload').GOOGLE_APPLICATION_CREDENTIALS).toBeUndefined();
    expect(configMapOf(identity).GCS_PROJECT_ID).toBe('prod');
    expect(podOf(identity, 'blob-upload').spec.volumes.map((v: Obj) => v.name)).not.toContain('gcs-key');
  });
});

describe('Helm chart: ingress', () => {
  it('lets the gateway take unlimited bodies and uploads longer than the upload time limit', () => {
    const ingress = rendered('all features').find((m) => m.kind === 'Ingress')!;
    const a = ingress.metadata.annotations!;
    expect(a['nginx.ingress.kubernetes.io/proxy-body-size']).toBe('0');
    expect(a['nginx.ingress.kubernetes.io/proxy-request-buffering']).toBe('off');
    for (const timeout of ['proxy-read-timeout', 'proxy-send-timeout']) expect(Number(a[`nginx.ingress.kubernetes.io/${timeout}`])).toBeGreaterThanOrEqual(420);
    expect(ingress.spec.rules[0].http.paths[0].backend.service.name).toBe('ocireg-gateway');
    expect(rendered('default').some((m) => m.kind === 'Ingress')).toBe(false);
  });

  it("routes dockerd's mirror hosts (gateway.pullThrough.mirrorHosts) to the gateway and tells it which they are", () => {
    const manifests = render(['-f', ALL_FEATURES, '--set', 'gateway.pullThrough.mirrorHosts.mirror\\.example\\.com=acme/hub']);
    const gatewayEnv = (list: Manifest[]) => Object.fromEntries(deploymentOf(list, 'gateway').spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
    expect(gatewayEnv(manifests).UPSTREAM_MIRROR_HOSTS).toBe('mirror.example.com=acme/hub');
    const ingress = manifests.find((m) => m.kind === 'Ingress')!;
    expect(ingress.spec.rules.map((r: Obj) => r.host)).toEqual(['registry.example.com', 'mirror.example.com']);
    expect(ingress.spec.rules[1].http.paths[0].backend.service.name).toBe('ocireg-gateway');
    expect(ingress.spec.tls[0].hosts).toEqual(['registry.example.com', 'mirror.example.com']);
    expect(gatewayEnv(rendered('all features')).UPSTREAM_MIRROR_HOSTS).toBeUndefined();
    const bad = template(['--set', 'gateway.pullThrough.mirrorHosts.mirror\\.example\\.com=acme']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/mirrorHosts/);
  });

  it('refuses an ingress timeout shorter than the upload time limit', () => {
    const result = template(['--set', 'gateway.ingress.enabled=true', '--set', 'gateway.ingress.timeoutSeconds=300']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/timeoutSeconds \(300\) must be at least limits.uploadTimeLimitSeconds \(420\)/);
  });
});

// ---------------------------------------------------------------------------
// NetworkPolicies: evaluate the rendered policies the way a CNI does and
// compare the reachable (caller, callee) pairs with the designed ones.
// ---------------------------------------------------------------------------
interface Endpoint {
  name: string;
  kind: 'pod' | 'namespace-pod' | 'ip';
  labels: Record<string, string>;
  namespaceLabels: Record<string, string>;
  ports: number[];
  /** An ip endpoint's address, for ipBlock peers (their cidr and except). */
  address?: string;
}
const DEPENDENCY_PORTS: Record<string, number[]> = { postgres: [5432], redis: [6379], kafka: [9092], s3: [443, 9000], dns: [53], 'webhook-targets': [80] };
// Where each external endpoint is: the dependencies inside private ranges, a webhook's target on the internet.
const DEPENDENCY_ADDRESSES: Record<string, string> = { postgres: '10.20.0.5', redis: '10.20.0.6', kafka: '10.20.0.7', s3: '10.40.0.5', dns: '10.96.0.10', 'webhook-targets': '203.0.113.10' };

function inBlock(block: Obj, address: string | undefined): boolean {
  if (!address) return true;
  const within = (cidr: string) => {
    const list = new BlockList();
    const [net, bits] = cidr.split('/');
    list.addSubnet(net!, Number(bits));
    return list.check(address);
  };
  return within(block.cidr) && !(block.except ?? []).some(within);
}
const TRIAL_NAMES: Record<string, string> = { minio: 's3' };

const matches = (selector: Obj | undefined, labels: Record<string, string>) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) && (selector?.matchExpressions ?? []).length === 0;

function peerMatches(peer: Obj, other: Endpoint): boolean {
  if (peer.ipBlock) return other.kind === 'ip' && inBlock(peer.ipBlock, other.address);
  if (other.kind === 'ip') return false;
  if (peer.namespaceSelector) {
    if (!matches(peer.namespaceSelector, other.namespaceLabels)) return false;
  } else if (other.kind !== 'pod') return false; // a podSelector alone means the policy's own namespace
  return peer.podSelector ? matches(peer.podSelector, other.labels) : true;
}

function allowed(policies: Manifest[], self: Endpoint, other: Endpoint, port: number, direction: 'Ingress' | 'Egress'): boolean {
  const selecting = policies.filter((p) => matches(p.spec.podSelector, self.labels) && (p.spec.policyTypes ?? ['Ingress']).includes(direction));
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (p.spec[direction === 'Ingress' ? 'ingress' : 'egress'] ?? []).some((rule: Obj) => {
      const portOk = !rule.ports || rule.ports.some((p: Obj) => p.port === port);
      const peers = rule[direction === 'Ingress' ? 'from' : 'to'];
      return portOk && (!peers || peers.some((peer: Obj) => peerMatches(peer, other)));
    }),
  );
}

function reachable(manifests: Manifest[]): string[] {
  const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');
  const pods: Endpoint[] = workloads(manifests).map((w) => ({
    name: TRIAL_NAMES[componentOf(w)] ?? componentOf(w),
    kind: 'pod',
    labels: w.spec.template.metadata.labels,
    namespaceLabels: { 'kubernetes.io/metadata.name': 'registry' },
    // Health ports carry only grpc.health.v1 and are open to the kubelet: checked on their own below.
    ports: w.spec.template.spec.containers.flatMap((c: Obj) => (c.ports ?? []).filter((p: Obj) => p.name !== 'health').map((p: Obj) => p.containerPort)),
  }));
  const outside: Endpoint[] = [
    { name: 'ingress-controller', kind: 'namespace-pod', labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' }, ports: [] },
    { name: 'prometheus', kind: 'namespace-pod', labels: { 'app.kubernetes.io/name': 'prometheus' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' }, ports: [] },
    { name: 'other-namespace', kind: 'namespace-pod', labels: {}, namespaceLabels: { 'kubernetes.io/metadata.name': 'default' }, ports: [] },
    { name: 'admin-tool', kind: 'namespace-pod', labels: { app: 'registry-admin' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'platform-tools' }, ports: [] },
  ];
  const podNames = new Set(pods.map((p) => p.name));
  const external: Endpoint[] = Object.entries(DEPENDENCY_PORTS)
    .filter(([name]) => !podNames.has(name))
    .map(([name, ports]) => ({ name, kind: 'ip', labels: {}, namespaceLabels: {}, ports, address: DEPENDENCY_ADDRESSES[name] }));
  const edges = new Set<string>();
  for (const from of [...pods, ...outside]) {
    for (const to of [...pods, ...external]) {
      if (from === to || (from.kind !== 'pod' && to.kind !== 'pod')) continue; // outside -> outside: not the chart's business
      for (const port of to.ports) {
        const out = from.kind === 'pod' ? allowed(policies, from, to, port, 'Egress') : true;
        const into = to.kind === 'pod' ? allowed(policies, to, from, port, 'Ingress') : true;
        if (out && into) edges.add(`${from.name} -> ${to.name}`);
      }
    }
  }
  return [...edges].sort();
}

const DESIGNED_CALLS = [
  'ingress-controller -> gateway',
  ...SERVICES.map((s) => `prometheus -> ${s}`),
  ...TOPOLOGY.services.flatMap((s) => [...s.calls, ...s.uses, ...(s.outbound ? ['webhook-targets'] : [])].map((to) => `${s.name} -> ${to}`)),
  'migrations -> postgres',
].sort();
/**
 * The designed calls of a render. Single sign-on and CI logins: auth fetches identity
 * providers' discovery documents, JWKS and tokens over HTTPS, any address on 443 unless
 * networkPolicy.dependencies.identityProviders.cidrs narrows it (this model does not tell
 * addresses apart), so it reaches an external object store on 443 too (not the trial's MinIO, a pod on 9000).
 */
const designedCalls = (render: string) => (render === 'trial' ? DESIGNED_CALLS : [...DESIGNED_CALLS, 'auth -> s3'].sort());

describe('Helm chart: NetworkPolicies', () => {
  it.each(Object.keys(RENDERS))('let exactly the designed calls through (%s)', (render) => {
    const manifests = rendered(render);
    const edges = reachable(manifests);
    const withoutDns = edges.filter((e) => !e.endsWith('-> dns'));
    // The admin port: only the peers gateway.admin.allowedFrom names (all features: the admin tool).
    expect(withoutDns).toEqual(render === 'all features' ? [...designedCalls(render), 'admin-tool -> gateway'].sort() : designedCalls(render));
    // Every pod resolves names (the trial dependencies are pods too, so their DNS edge shows when external).
    if (render !== 'trial') for (const c of [...SERVICES, 'migrations']) expect(edges).toContain(`${c} -> dns`);
  });

  it('deny everything else by default, and allow gRPC only on the service ports', () => {
    const policies = rendered('default').filter((m) => m.kind === 'NetworkPolicy');
    const deny = policies.find((p) => !p.spec.podSelector.matchLabels['app.kubernetes.io/component'])!;
    expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(deny.spec.ingress ?? []).toEqual([]);
    expect(deny.spec.egress ?? []).toEqual([]);
    const auth = policies.find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/component'] === 'auth')!;
    const grpcPorts = auth.spec.ingress.filter((r: Obj) => r.from?.some((f: Obj) => f.podSelector && !f.namespaceSelector)).flatMap((r: Obj) => r.ports.map((p: Obj) => p.port));
    expect(new Set(grpcPorts)).toEqual(new Set([50051]));
  });

  it('let the admin tool reach the gateway only on the admin port, and anyone reach only the health port of a gRPC service', () => {
    const policies = rendered('all features').filter((m) => m.kind === 'NetworkPolicy');
    const policyOf = (component: string) => policies.find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/component'] === component)!;
    const adminRule = policyOf('gateway').spec.ingress.find((r: Obj) => r.from?.some((f: Obj) => f.podSelector?.matchLabels?.app === 'registry-admin'));
    expect(adminRule.ports).toEqual([{ port: 50050, protocol: 'TCP' }]);
    for (const service of ['auth', 'metadata', 'blob-upload', 'indexer']) {
      const open = policyOf(service).spec.ingress.filter((r: Obj) => !r.from);
      expect(open.flatMap((r: Obj) => r.ports.map((p: Obj) => p.port)), service).toEqual([8086]);
    }
  });

  it('let auth reach identity providers over HTTPS, only at their CIDRs when given', () => {
    const authPolicy = (args: string[]) => render(args).find((m) => m.kind === 'NetworkPolicy' && m.spec.podSelector.matchLabels['app.kubernetes.io/component'] === 'auth')!;
    const https = (policy: Manifest) => policy.spec.egress.filter((r: Obj) => r.ports?.some((p: Obj) => p.port === 443));
    expect(https(authPolicy([]))).toEqual([{ ports: [{ port: 443, protocol: 'TCP' }] }]);
    expect(https(authPolicy(['--set-json', 'networkPolicy.dependencies.identityProviders={"ports":[443],"cidrs":["192.0.2.0/24"]}']))).toEqual([{ ports: [{ port: 443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '192.0.2.0/24' } }] }]);
    // No other service gets it.
    const metadata = rendered('default').find((m) => m.kind === 'NetworkPolicy' && m.spec.podSelector.matchLabels['app.kubernetes.io/component'] === 'metadata')!;
    expect(metadata.spec.egress.filter((r: Obj) => r.ports?.length === 1 && r.ports[0].port === 443 && !r.to)).toEqual([]);
  });

  it('let only the webhooks pods reach webhook targets, never private ranges', () => {
    const policies = rendered('default').filter((m) => m.kind === 'NetworkPolicy');
    const webhooks = policies.find((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/component'] === 'webhooks')!;
    const rule = webhooks.spec.egress.find((r: Obj) => r.ports.some((p: Obj) => p.port === 443));
    expect(rule.to).toEqual([{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '127.0.0.0/8'] } }]);
    const edges = reachable(rendered('default'));
    expect(edges.filter((e) => e.endsWith('-> webhook-targets'))).toEqual(['webhooks -> webhook-targets']);
  });

  it('restrict external dependencies to their CIDRs when given', () => {
    const metadata = rendered('all features').find((m) => m.kind === 'NetworkPolicy' && m.spec.podSelector.matchLabels['app.kubernetes.io/component'] === 'metadata')!;
    const postgres = metadata.spec.egress.find((r: Obj) => r.ports.some((p: Obj) => p.port === 5432));
    expect(postgres.to).toEqual([{ ipBlock: { cidr: '10.20.0.0/16' } }]);
  });
});

describe('Helm chart: optional features', () => {
  it('has disruption budgets, and optional autoscalers and ServiceMonitors', () => {
    const names = (manifests: Manifest[], kind: string) => manifests.filter((m) => m.kind === kind).map((m) => m.metadata.name).sort();
    expect(names(rendered('default'), 'PodDisruptionBudget')).toEqual(['ocireg-auth', 'ocireg-blob-upload', 'ocireg-gateway', 'ocireg-metadata']);
    expect(names(rendered('default'), 'HorizontalPodAutoscaler')).toEqual([]);
    expect(names(rendered('default'), 'ServiceMonitor')).toEqual([]);
    expect(names(rendered('all features'), 'HorizontalPodAutoscaler')).toEqual(['ocireg-auth', 'ocireg-blob-upload', 'ocireg-gateway']);
    expect(names(rendered('all features'), 'ServiceMonitor')).toHaveLength(6);
    expect(names(rendered('all features'), 'PodDisruptionBudget')).toHaveLength(5);
    // Autoscaled Deployments leave replicas to the HPA.
    expect(deploymentOf(rendered('all features'), 'gateway').spec.replicas).toBeUndefined();
  });

  it('runs single-replica trial dependencies only when trial.enabled is set', () => {
    expect(rendered('default').some((m) => m.kind === 'StatefulSet')).toBe(false);
    const sets = rendered('trial').filter((m) => m.kind === 'StatefulSet');
    expect(sets.map((s) => componentOf(s)).sort()).toEqual(['kafka', 'minio', 'postgres', 'redis']);
    for (const set of sets) expect(set.spec.replicas).toBe(1);
    const configMap = rendered('trial').find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'ocireg-config')!;
    expect(configMap.data).toMatchObject({ KAFKA_BROKERS: 'ocireg-kafka:9092', S3_ENDPOINT: 'http://ocireg-minio:9000' });
  });
});

describe('Helm chart: service identities and the admin port', () => {
  const certOf = (manifests: Manifest[], service: Service) => {
    const secret = manifests.find((m) => m.kind === 'Secret' && m.metadata.name === `ocireg-${service}-tls`)!;
    return { secret, cert: new X509Certificate(Buffer.from(secret.data!['tls.crt']!, 'base64')), ca: new X509Certificate(Buffer.from(secret.data!['ca.crt']!, 'base64')) };
  };

  it('gives every service a certificate of the release CA naming it, mounted where INTERNAL_TLS_DIR points', () => {
    const manifests = rendered('default');
    const caSecret = manifests.find((m) => m.kind === 'Secret' && m.metadata.name === 'ocireg-internal-ca')!;
    const ca = new X509Certificate(Buffer.from(caSecret.data!['tls.crt']!, 'base64'));
    for (const service of SERVICES) {
      const { cert, secret } = certOf(manifests, service);
      expect(cert.subject).toContain(`CN=${service}`);
      expect(cert.checkIssued(ca) && cert.verify(ca.publicKey), service).toBe(true);
      expect(createPrivateKey(Buffer.from(secret.data!['tls.key']!, 'base64')).asymmetricKeyType).toBe('ec');
      const pod = deploymentOf(manifests, service).spec.template.spec;
      const env = Object.fromEntries(pod.containers[0].env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
      const mount = pod.containers[0].volumeMounts.find((m: Obj) => m.mountPath === env.INTERNAL_TLS_DIR);
      expect(mount?.readOnly, service).toBe(true);
      expect(pod.volumes.find((v: Obj) => v.name === mount.name).secret.secretName).toBe(`ocireg-${service}-tls`);
    }
  });

  it('issues the certificates through cert-manager when asked to, and makes none itself', () => {
    const manifests = rendered('all features');
    const certificates = manifests.filter((m) => m.kind === 'Certificate');
    expect(certificates.map((c) => c.spec.commonName).sort()).toEqual(['auth', 'blob-upload', 'gateway', 'indexer', 'metadata', 'webhooks', 'ocireg internal CA'].sort());
    for (const certificate of certificates.filter((c) => !c.spec.isCA)) expect(certificate.spec.usages).toEqual(expect.arrayContaining(['server auth', 'client auth']));
    expect(manifests.some((m) => m.kind === 'Secret' && m.metadata.name.endsWith('-tls'))).toBe(false);
  });

  it('serves the admin API on its own Service and port, with TLS from a Secret when given, and trusts X-Forwarded-For only from the configured proxies', () => {
    const all = rendered('all features');
    const admin = all.find((m) => m.kind === 'Service' && m.metadata.name === 'ocireg-admin')!;
    expect(admin.spec.ports).toEqual([expect.objectContaining({ port: 50050, targetPort: 'admin' })]);
    const container = deploymentOf(all, 'gateway').spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.filter((e: Obj) => 'value' in e).map((e: Obj) => [e.name, e.value]));
    expect(env).toMatchObject({ ADMIN_GRPC_PORT: '50050', ADMIN_TLS_DIR: '/etc/ocireg/admin-tls', TRUSTED_PROXY_CIDRS: '10.42.0.0/16' });
    const gatewayEnv = (manifests: Manifest[]) => deploymentOf(manifests, 'gateway').spec.template.spec.containers[0].env.map((e: Obj) => e.name);
    expect(gatewayEnv(rendered('default'))).not.toContain('TRUSTED_PROXY_CIDRS');
    const behindIngress = render(['--set', 'gateway.ingress.enabled=true']);
    expect(deploymentOf(behindIngress, 'gateway').spec.template.spec.containers[0].env.find((e: Obj) => e.name === 'TRUSTED_PROXY_CIDRS').value).toContain('10.0.0.0/8');
  });
});

describe('Helm chart: values.schema.json', () => {
  it.each([
    [['--set', 'gateway.replicas=0'], /at '\/gateway\/replicas': minimum: got 0, want 1/],
    [['--set', 'logLevel=loud'], /at '\/logLevel': value must be one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'/],
    [['--set', 'limits.maxBlobSize=lots'], /at '\/limits\/maxBlobSize': got string, want integer/],
    [['--set', 'containerSecurityContext.readOnlyRootFilesystem=false'], /at '\/containerSecurityContext\/readOnlyRootFilesystem': value must be true/],
    [['--set', 'gateway.replica=3'], /at '\/gateway': additional properties 'replica' not allowed/],
    [['--set', 'kafka.brokers=kafka'], /at '\/kafka\/brokers': 'kafka' does not match pattern/],
    [['--set', 's3.endpoint=minio:9000'], /at '\/s3\/endpoint': 'minio:9000' does not match pattern/],
    [['--set', 'storage.backend=swift'], /at '\/storage\/backend': value must be one of 's3', 'azure', 'gcs'/],
    [['--set', 'azure.account=Not-An-Account'], /at '\/azure\/account': 'Not-An-Account' does not match pattern/],
    [['--set', 'internalTls.mode=none'], /at '\/internalTls\/mode': value must be one of 'helm', 'cert-manager', 'existing'/],
  ])('rejects %j with a message naming the value', (args, message) => {
    const result = template(args as string[]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toMatch(message as RegExp);
  });

  it('refuses cross-field mistakes with a message naming the values', () => {
    const result = template(['--set', 's3.accessKey=only-one']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/s3.accessKey and s3.secretKey go together/);
  });
});
