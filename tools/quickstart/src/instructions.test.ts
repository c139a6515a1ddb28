import { describe, expect, it } from 'vitest';
import { startInstructions, type StartedStack } from './instructions';

const stack: StartedStack = {
  gatewayUrl: 'http://127.0.0.1:5000',
  registryHost: '127.0.0.1:5000',
  adminAddress: '127.0.0.1:5001',
  operator: { email: 'admin@ocireg.local', token: 'ocireg_operator' },
  dataDir: '/data',
  logDir: '/data/logs',
  secretsFile: '/data/secrets.json',
  registryctl: 'tools/registryctl/dist/cli.js',
};

describe('start instructions', () => {
  it('give the address, the bootstrap admin with registryctl lines, and generic docker lines without --demo', () => {
    const text = startInstructions(stack).join('\n');
    expect(text).toContain('Registry ready at http://127.0.0.1:5000');
    expect(text).toContain('Bootstrap admin: admin@ocireg.local');
    expect(text).toContain('export REGISTRY_ADMIN_ADDR=127.0.0.1:5001');
    expect(text).toContain('export REGISTRY_TOKEN=ocireg_operator');
    expect(text).toContain('node tools/registryctl/dist/cli.js token create you@example.com');
    expect(text).toContain('echo "$REGISTRY_TOKEN" | docker login 127.0.0.1:5000 --username admin@ocireg.local --password-stdin');
    expect(text).not.toContain('Try it:');
    expect(text).toContain('web UI: http://127.0.0.1:5000/');
    expect(text).toContain('node tools/registryctl/dist/cli.js user invite you@example.com');
  });

  it('give the web UI sign-in of the demo user', () => {
    const text = startInstructions({ ...stack, demo: { workspace: 'demo', email: 'demo@ocireg.local', token: 'ocireg_demo', password: 'demo-pw' } }).join('\n');
    expect(text).toContain('web UI: http://127.0.0.1:5000/  (sign in as demo@ocireg.local, password demo-pw)');
  });

  it('give the exact lines for the demo user with --demo', () => {
    const lines = startInstructions({ ...stack, demo: { workspace: 'demo', email: 'demo@ocireg.local', token: 'ocireg_demo' } });
    const tryIt = lines.slice(lines.indexOf('Try it:') + 1, lines.indexOf('', lines.indexOf('Try it:')));
    expect(tryIt).toEqual([
      "  echo 'ocireg_demo' | docker login 127.0.0.1:5000 --username demo@ocireg.local --password-stdin",
      '  tar -C /etc -c hostname | docker import - 127.0.0.1:5000/demo/hello:1',
      '  docker push 127.0.0.1:5000/demo/hello:1',
      '  docker pull 127.0.0.1:5000/demo/hello:1',
    ]);
  });
});
