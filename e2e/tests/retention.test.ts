import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type RunningRegistry } from '@ocireg/devstack';
import { importRandomImage } from './images';
import { loginNewWorkspace, run, startTestRegistry, type TestWorkspace } from './helpers';
import { pollUntil } from './polling';

const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');

/**
 * Retention end to end (docs/lifecycle-retention.md): images pushed with the
 * docker CLI, rules made, previewed and applied with registryctl against a
 * running stack; the online loop applies what stays under the threshold by
 * itself and leaves the rest for a confirmed apply.
 */
describe('retention rules with registryctl against docker-pushed images', () => {
  let registry: RunningRegistry;
  let ws: TestWorkspace;
  /** As the Admin of the workspace's source repository, and as the operator. */
  let ctl: (...args: string[]) => Promise<Record<string, any>>;
  let op: (...args: string[]) => Promise<Record<string, any>>;
  const tags = ['t1', 't2', 't3', 't4', 't5'];

  beforeAll(async () => {
    registry = await startTestRegistry({ RETENTION_DUE_POLL_SECONDS: '1', RETENTION_INTERVAL_SECONDS: '3600' });
    ws = await loginNewWorkspace(registry, 'ret');
    ctl = async (...args) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', ws.admin.token, ...args]));
    op = async (...args) => JSON.parse(await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, ...args]));
    // Two packages, five tags each, each tag its own image, pushed one after another.
    for (const name of ['app', 'auto']) {
      for (const tag of tags) {
        const reference = `${registry.registryHost}/${ws.slug}/${name}:${tag}`;
        await importRandomImage(reference, 64 * 1024);
        await run('docker', ['push', reference]);
      }
    }
  });

  afterAll(async () => {
    await registry?.stop();
  });

  const tagsOf = async (name: string) => {
    const response = await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/${name}/tags/list`, { headers: { Authorization: `Basic ${Buffer.from(`${ws.admin.email}:${ws.admin.token}`).toString('base64')}` } });
    return ((await response.json()) as { tags: string[] }).tags.sort();
  };

  it('previews with why-kept, refuses an apply past the threshold without --confirm, and a confirmed apply deletes exactly what the preview showed', async () => {
    // Inherited from the workspace, protected at the package: keep t5 (newest) and t1 (protected); t2-t4 go: 60% > 50%.
    // Workspace rules are the workspace admins' (and operators'), not a repository Admin's.
    await expect(ctl('retention', 'create', ws.slug, '--kind', 'keep-latest', '--pattern', 't*', '--count', '1')).rejects.toThrow(/DENIED/);
    const keep = await op('retention', 'create', ws.slug, '--kind', 'keep-latest', '--pattern', 't*', '--count', '1');
    const protect = await ctl('retention', 'create', ws.slug, '--package', 'app', '--kind', 'protect', '--pattern', 't1');
    // The other package opts out of the workspace rule: the loop leaves it alone.
    await ctl('retention', 'opt-out', ws.slug, keep.rule.id, '--package', 'auto');
    await expect(ctl('retention', 'create', ws.slug, '--package', 'app', '--kind', 'protect', '--pattern', 'v[0-9]')).rejects.toThrow(/INVALID_ARGUMENT: pattern/);

    const effective = await ctl('retention', 'effective', ws.slug, 'app');
    expect(effective.rules.map((r: any) => [r.level, r.scopeName])).toEqual([
      ['workspace', ws.slug],
      ['package', `${ws.slug}/app`],
    ]);
    const preview = (await ctl('retention', 'preview', ws.slug, '--package', 'app')).packages[0];
    expect(preview).toMatchObject({ packageName: 'app', tagsTotal: 5, deleteTagsTotal: 3, deleteManifestsTotal: 3, needsConfirmation: true });
    expect(Number(preview.bytes)).toBeGreaterThan(3 * 64 * 1024);
    const byName = Object.fromEntries(preview.tags.map((t: any) => [t.name, t]));
    expect(byName.t5).toMatchObject({ keptBy: [keep.rule.id] });
    expect(byName.t1).toMatchObject({ keptBy: [protect.rule.id], why: expect.stringContaining('always keep tags matching t1') });
    expect(['t2', 't3', 't4'].every((t) => byName[t].delete === true)).toBe(true);
    // The whole workspace's preview covers both packages; the opted-out one deletes nothing.
    const all = await ctl('retention', 'preview', ws.slug);
    expect(all.packages.map((p: any) => [p.packageName, p.deleteTagsTotal ?? 0])).toEqual([
      ['app', 3],
      ['auto', 0],
    ]);

    await expect(ctl('retention', 'apply', ws.slug, 'app')).rejects.toThrow(/FAILED_PRECONDITION: .*3 of 5 tags/);
    expect(await tagsOf('app')).toEqual(tags);
    const applied = await ctl('retention', 'apply', ws.slug, 'app', '--confirm');
    expect(applied.deletedTags.sort()).toEqual(['t2', 't3', 't4']);
    expect(applied.deletedManifests.sort()).toEqual(preview.deleteManifests.map((m: any) => m.digest).sort());
    expect(await tagsOf('app')).toEqual(['t1', 't5']);
    // What stays still pulls.
    await run('docker', ['rmi', `${registry.registryHost}/${ws.slug}/app:t5`]);
    await run('docker', ['pull', `${registry.registryHost}/${ws.slug}/app:t5`]);
  });

  it('the online loop applies a rule after pushes by itself when it stays under the threshold', async () => {
    // keep the 4 newest of 5 (20%) at the package: applied by the loop without a confirmation.
    await ctl('retention', 'create', ws.slug, '--package', 'auto', '--kind', 'keep-latest', '--pattern', '*', '--count', '4');
    await pollUntil(() => tagsOf('auto'), (now) => now.length === 4, 30_000, 250);
    expect(await tagsOf('auto')).toEqual(['t2', 't3', 't4', 't5']);
    // A new push makes the package due again: the oldest goes once more.
    const reference = `${registry.registryHost}/${ws.slug}/auto:t6`;
    await importRandomImage(reference, 64 * 1024);
    await run('docker', ['push', reference]);
    await pollUntil(() => tagsOf('auto'), (now) => !now.includes('t2'), 30_000, 250);
    expect(await tagsOf('auto')).toEqual(['t3', 't4', 't5', 't6']);
    const list = await ctl('retention', 'list', ws.slug, '--package', 'auto');
    expect(list.optedOutRuleIds).toHaveLength(1);
  });
});
