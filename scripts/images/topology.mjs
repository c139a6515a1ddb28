// What the image build needs of the services, from charts/ocireg/topology.yaml (generated from libs/topology):
//   node scripts/images/topology.mjs names                      the services, one per line
//   node scripts/images/topology.mjs config <service> <version> the image config of ocireg-<service> (JSON):
//                                                              node with the service's flags and environment, its ports
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const { services } = parse(readFileSync(new URL('../../charts/ocireg/topology.yaml', import.meta.url), 'utf8'));

function imageConfig(service, version) {
  const { name, ports, node } = service;
  return {
    User: '10001:10001',
    WorkingDir: '/app',
    Entrypoint: ['/usr/bin/node'],
    Cmd: [...(node?.flags ?? []), `services/${name}/dist/main.js`],
    Env: [PATH, 'NODE_ENV=production', ...Object.entries(node?.env ?? {}).map(([key, value]) => `${key}=${value}`)],
    ExposedPorts: { [`${ports.serve}/tcp`]: {}, [`${ports.metrics}/tcp`]: {} },
    Labels: { 'org.opencontainers.image.title': `ocireg-${name}`, 'org.opencontainers.image.version': version },
  };
}

const [command, name, version] = process.argv.slice(2);
if (command === 'names') {
  for (const service of services) console.log(service.name);
} else if (command === 'config') {
  const service = services.find((s) => s.name === name);
  if (!service) throw new Error(`charts/ocireg/topology.yaml has no service "${name}"`);
  console.log(JSON.stringify(imageConfig(service, version ?? '')));
} else {
  console.error('usage: node scripts/images/topology.mjs names | config <service> <version>');
  process.exit(2);
}
