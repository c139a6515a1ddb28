// The files that cannot import the table agree with it: the chart's topology.yaml is
// current, and the Dockerfile, the image build, the chart's values and skaffold.yaml
// name every service with its ports, node flags and environment.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_TOPOLOGY_PATH, chartTopology, chartTopologyYaml, REGENERATE_COMMAND } from './chart-topology';
import { SERVICE_NAMES, serviceSpec } from './topology';

const ROOT = path.resolve(__dirname, '../../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const valuesKey = (name: string) => chartTopology().services.find((s) => s.name === name)!.valuesKey;

describe('files derived from the topology', () => {
  it(`${CHART_TOPOLOGY_PATH} is what the table generates`, () => {
    const committed = read(CHART_TOPOLOGY_PATH);
    if (committed !== chartTopologyYaml()) expect.fail(`${CHART_TOPOLOGY_PATH} is stale: run \`${REGENERATE_COMMAND}\` and commit it`);
  });

  it('has one service per services/<name> package, each built by pnpm build', () => {
    const packages = readdirSync(path.join(ROOT, 'services')).filter((dir) => existsSync(path.join(ROOT, 'services', dir, 'package.json')));
    expect([...packages].sort()).toEqual([...SERVICE_NAMES].sort());
    const built = (JSON.parse(read('tsconfig.json')) as { references: { path: string }[] }).references.map((r) => r.path);
    for (const name of SERVICE_NAMES) {
      expect(JSON.parse(read(`services/${name}/package.json`)).name).toBe(`@ocireg/${name}`);
      expect(built, 'tsconfig.json references').toContain(`services/${name}`);
    }
  });

  it("gives the Dockerfile a target per service with the service's ports, node flags and environment", () => {
    const targets = new Map<string, string>();
    for (const stage of read('Dockerfile').split(/^(?=FROM )/m)) {
      const target = /^FROM runtime AS (\S+)/.exec(stage)?.[1];
      if (target) targets.set(target, stage);
    }
    expect([...targets.keys()]).toEqual(SERVICE_NAMES);
    for (const name of SERVICE_NAMES) {
      const stage = targets.get(name)!;
      const { ports, node } = serviceSpec(name);
      expect(stage, name).toMatch(new RegExp(`^EXPOSE ${ports.serve} ${ports.metrics}$`, 'm'));
      expect(JSON.parse(/^CMD (.+)$/m.exec(stage)![1]!), name).toEqual([...(node?.flags ?? []), `services/${name}/dist/main.js`]);
      const env = Object.fromEntries([...stage.matchAll(/^ENV (.+)$/gm)].flatMap((line) => line[1]!.split(/\s+/).map((pair) => pair.split('=', 2) as [string, string])));
      expect(env, name).toEqual(node?.env ?? {});
    }
  });

  it('gives the image build (scripts/images/build.sh) every service, each run with its flags and environment', () => {
    const images = (...args: string[]) => execFileSync(process.execPath, [path.join(ROOT, 'scripts/images/topology.mjs'), ...args], { cwd: ROOT, encoding: 'utf8' });
    expect(images('names').trim().split('\n')).toEqual(SERVICE_NAMES);
    for (const name of SERVICE_NAMES) {
      const { ports, node } = serviceSpec(name);
      const config = JSON.parse(images('config', name, '1.2.3')) as { Cmd: string[]; Env: string[]; ExposedPorts: object; Labels: Record<string, string> };
      expect(config.Cmd, name).toEqual([...(node?.flags ?? []), `services/${name}/dist/main.js`]);
      expect(config.Env, name).toEqual(expect.arrayContaining(['NODE_ENV=production', ...Object.entries(node?.env ?? {}).map(([key, value]) => `${key}=${value}`)]));
      expect(Object.keys(config.ExposedPorts), name).toEqual([`${ports.serve}/tcp`, `${ports.metrics}/tcp`]);
      expect(config.Labels['org.opencontainers.image.title']).toBe(`ocireg-${name}`);
    }
  });

  it("gives the chart's values each service's default ports and image", () => {
    const values = parse(read('charts/ocireg/values.yaml')) as Record<string, Record<string, unknown>>;
    for (const name of SERVICE_NAMES) {
      const key = valuesKey(name);
      const { ports } = serviceSpec(name);
      expect(values[key], `values.yaml: ${key}`).toMatchObject({ [name === 'gateway' ? 'httpPort' : 'grpcPort']: ports.serve, metricsPort: ports.metrics });
      expect(values.images, `values.yaml: images.${key}`).toHaveProperty(key);
    }
  });

  it('gives skaffold.yaml an artifact and an image value per service, in every profile', () => {
    const skaffold = parse(read('skaffold.yaml')) as { build: { artifacts: { image: string }[] }; deploy: { helm: { releases: { setValueTemplates: Record<string, string> }[] } }; profiles: { name: string; build?: { artifacts: { image: string }[] }; deploy?: { helm: { releases: { setValueTemplates: Record<string, string> }[] } } }[] };
    const local = skaffold.profiles.find((p) => p.name === 'local')!;
    for (const artifacts of [skaffold.build.artifacts, local.build!.artifacts]) {
      expect(artifacts.map((a) => a.image).filter((image) => !image.startsWith('ocireg-trial-'))).toEqual(SERVICE_NAMES.map((name) => `ocireg-${name}`));
    }
    for (const release of [skaffold.deploy.helm.releases[0]!, local.deploy!.helm.releases[0]!]) {
      for (const name of SERVICE_NAMES) expect(release.setValueTemplates[`images.${valuesKey(name)}`], name).toBe(`{{.IMAGE_FULLY_QUALIFIED_ocireg_${name.replace(/-/g, '_')}}}`);
    }
  });
});
