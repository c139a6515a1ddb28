import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRegistry } from '@ocireg/devstack';
import type { UserToken } from '@ocireg/devstack';
import { basicAuth, loginNewWorkspace, run, startTestRegistry, tempDir } from './helpers';

describe('crane and oras through the gateway', () => {
  let registry: RunningRegistry;
  let workspace: string;
  let user: UserToken;

  beforeAll(async () => {
    registry = await startTestRegistry();
    const created = await loginNewWorkspace(registry); // crane reads docker's credentials
    workspace = created.slug;
    user = created.admin;
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('crane: builds an image from a layer, lists tags, copies across repositories (mount), deletes', async () => {
    const dir = tempDir('crane');
    const rootfs = path.join(dir, 'rootfs');
    mkdirSync(rootfs);
    writeFileSync(path.join(rootfs, 'random.bin'), randomBytes(2 * 1024 * 1024));
    const layer = path.join(dir, 'layer.tar');
    await run('tar', ['-C', rootfs, '-cf', layer, '.']);

    const image = `${registry.registryHost}/${workspace}/crane-app`;
    await run('crane', ['append', '--insecure', '-f', layer, '-t', `${image}:v1`]);
    await run('crane', ['tag', '--insecure', `${image}:v1`, 'v2']);
    expect((await run('crane', ['ls', '--insecure', image])).split('\n')).toEqual(['v1', 'v2']);

    const digest = await run('crane', ['digest', '--insecure', `${image}:v1`]);
    const copy = `${registry.registryHost}/${workspace}/crane-copy:v1`;
    await run('crane', ['copy', '--insecure', `${image}:v1`, copy]);
    expect(await run('crane', ['digest', '--insecure', copy])).toBe(digest);

    const exported = path.join(dir, 'exported.tar');
    await run('crane', ['export', '--insecure', copy, exported]);
    const files = await run('tar', ['-tf', exported]);
    expect(files).toContain('random.bin');

    await run('crane', ['delete', '--insecure', `${image}@${digest}`]);
    await expect(run('crane', ['digest', '--insecure', `${image}:v1`])).rejects.toThrow(/MANIFEST_UNKNOWN|404/);
    expect(await run('crane', ['digest', '--insecure', copy])).toBe(digest);
  });

  it('oras: pushes an artifact with a custom artifactType, attaches a referrer, discovers and pulls it', async () => {
    const dir = tempDir('oras');
    const artifact = `${registry.registryHost}/${workspace}/oras-artifact`;
    const payload = randomBytes(4096).toString('hex');
    writeFileSync(path.join(dir, 'model.txt'), payload);

    await run('oras', ['push', '--plain-http', '-u', user.email, '-p', user.token, '--artifact-type', 'application/vnd.acme.model.v1', `${artifact}:v1`, 'model.txt:text/plain'], { cwd: dir });
    writeFileSync(path.join(dir, 'signature.json'), '{"signed":true}');
    await run('oras', ['attach', '--plain-http', '-u', user.email, '-p', user.token, '--artifact-type', 'application/vnd.acme.signature.v1', `${artifact}:v1`, 'signature.json:application/json'], { cwd: dir });

    const discovered = JSON.parse(await run('oras', ['discover', '--plain-http', '-u', user.email, '-p', user.token, '--format', 'json', `${artifact}:v1`]));
    const referrers = discovered.referrers ?? discovered.manifests ?? [];
    expect(referrers).toHaveLength(1);
    expect(referrers[0].artifactType).toBe('application/vnd.acme.signature.v1');

    const filtered = await fetch(`${registry.gatewayUrl}/v2/${workspace}/oras-artifact/referrers/${await run('oras', ['resolve', '--plain-http', '-u', user.email, '-p', user.token, `${artifact}:v1`])}?artifactType=application/vnd.other`, { headers: { Authorization: basicAuth(user) } });
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toEqual([]);

    const out = path.join(dir, 'pulled');
    mkdirSync(out);
    await run('oras', ['pull', '--plain-http', '-u', user.email, '-p', user.token, '-o', out, `${artifact}:v1`]);
    const pulled = readFileSync(path.join(out, 'model.txt'), 'utf8');
    expect(createHash('sha256').update(pulled).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  });
});
