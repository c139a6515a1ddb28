import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import { basicAuth, newWorkspace, run, startTestRegistry, tempDir } from './helpers';

describe('helm charts as OCI artifacts', () => {
  let registry: RunningRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('helm push and helm pull a packaged chart', async () => {
    const dir = tempDir('helm');
    const home = { HELM_CACHE_HOME: path.join(dir, 'cache'), HELM_CONFIG_HOME: path.join(dir, 'config'), HELM_DATA_HOME: path.join(dir, 'data'), HELM_REGISTRY_CONFIG: path.join(dir, 'registry.json') };
    await run('helm', ['create', 'demo-chart'], { cwd: dir, env: home });
    await run('helm', ['package', 'demo-chart', '--version', '1.2.3'], { cwd: dir, env: home });
    const { slug: workspace, admin: user } = await newWorkspace(registry);
    await run('helm', ['registry', 'login', registry.registryHost, '--username', user.email, '--password-stdin', '--insecure'], { env: home, input: user.token });

    const pushed = await run('helm', ['push', 'demo-chart-1.2.3.tgz', `oci://${registry.registryHost}/${workspace}`, '--plain-http'], { cwd: dir, env: home, withStderr: true });
    expect(pushed).toMatch(/Digest: sha256:[a-f0-9]{64}/);

    // Helm asks the tags list for versions, and pulls by tag.
    const tags = (await (await fetch(`${registry.gatewayUrl}/v2/${workspace}/demo-chart/tags/list`, { headers: { Authorization: basicAuth(user) } })).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['1.2.3']);

    const out = path.join(dir, 'pulled');
    mkdirSync(out);
    await run('helm', ['pull', `oci://${registry.registryHost}/${workspace}/demo-chart`, '--version', '1.2.3', '--plain-http', '-d', out], { cwd: dir, env: home });
    const original = readFileSync(path.join(dir, 'demo-chart-1.2.3.tgz'));
    const pulled = readFileSync(path.join(out, 'demo-chart-1.2.3.tgz'));
    expect(pulled.equals(original)).toBe(true);

    const shown = await run('helm', ['show', 'chart', `oci://${registry.registryHost}/${workspace}/demo-chart`, '--version', '1.2.3', '--plain-http'], { env: home });
    expect(shown).toContain('name: demo-chart');
  });
});
