import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type RunningRegistry } from '@ocireg/devstack';
import { unaryCall } from '@ocireg/grpc';
import { admin, immutableTags } from '@ocireg/proto';
import { adminPortClient, basicAuth, loginNewWorkspace, newWorkspace, run, startTestRegistry, tempDir, type TestWorkspace } from './helpers';
import { importRandomImage } from './images';
import { OciHttp } from './oci-http';

const Level = immutableTags.ImmutableTagRuleLevel;
const CLI = path.join(REPO_ROOT, 'tools', 'registryctl', 'dist', 'cli.js');

/**
 * Immutable tags (issue 24) with real clients: docker and crane cannot move
 * an immutable tag (the refusal names the rule) yet re-push its digest; no
 * delete of it, its manifest or its image gets through /v2, the admin API or
 * the JSON API, not even an operator's; rules are managed through the admin
 * API, registryctl and the JSON API, with their roles.
 */
describe('immutable tags through the gateway', () => {
  let registry: RunningRegistry;
  let rules: immutableTags.ImmutableTagServiceClient;
  let adminClient: admin.AdminServiceClient;
  const operator = () => ({ authorization: registry.operator.authorization });
  const as = (ws: TestWorkspace) => ({ authorization: `Bearer ${ws.admin.token}` });
  const scope = (ws: TestWorkspace, level: immutableTags.ImmutableTagRuleLevel, more: Partial<immutableTags.ImmutableTagRuleScope> = {}) => ({ workspaceSlug: ws.slug, level, projectSlug: '', sourceRepositoryId: '', packageName: '', ...more });
  /** A rule on the workspace's source repository, created by its Admin (not a workspace admin). */
  const repositoryRule = async (ws: TestWorkspace, pattern: string) =>
    (await unaryCall(rules.createImmutableTagRule.bind(rules), { scope: scope(ws, Level.IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY, { sourceRepositoryId: ws.sourceRepositoryId }), pattern }, as(ws))).rule!;

  beforeAll(async () => {
    expect(process.env.DOCKER_HOST, 'the global setup starts dockerd').toBeTruthy();
    registry = await startTestRegistry();
    rules = adminPortClient(registry, immutableTags.ImmutableTagServiceClient);
    adminClient = adminPortClient(registry, admin.AdminServiceClient);
  });

  afterAll(async () => {
    rules?.close();
    adminClient?.close();
    await registry?.stop();
  });

  it('docker push: moving an immutable tag is refused with the rule named; re-pushing the same digest and new matching tags succeed', async () => {
    const ws = await loginNewWorkspace(registry, 'immdocker');
    const rule = await repositoryRule(ws, 'v*');
    expect(rule).toMatchObject({ pattern: 'v*', level: Level.IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY, scopeName: expect.stringMatching(new RegExp(`^${ws.slug}/`)) });
    const repository = `${registry.registryHost}/${ws.slug}/app`;
    await importRandomImage(`${repository}:v1`, 64 * 1024);
    const pushed = await run('docker', ['push', `${repository}:v1`]);
    const digest = /v1: digest: (sha256:[a-f0-9]{64})/.exec(pushed)?.[1];
    expect(digest).toBeTruthy();
    // Idempotent CI: the same image pushed again to the immutable tag.
    expect(await run('docker', ['push', `${repository}:v1`])).toContain(`v1: digest: ${digest}`);

    // Another image under the same tag: refused, the rule named in docker's output.
    await importRandomImage(`${repository}:v1`, 64 * 1024);
    await expect(run('docker', ['push', `${repository}:v1`])).rejects.toThrow(/denied: tag v1 of .*\/app is immutable \(immutable tag rule "v\*" of source repository [^)]+\): it cannot be moved/);
    // The tag still points where it did; a tag no rule matches, and a new matching tag, are pushed.
    const headers = { Authorization: basicAuth(ws.admin) };
    const head = async (tag: string) => (await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/app/manifests/${tag}`, { method: 'HEAD', headers })).headers.get('docker-content-digest');
    expect(await head('v1')).toBe(digest);
    await run('docker', ['tag', `${repository}:v1`, `${repository}:latest`]);
    await run('docker', ['tag', `${repository}:v1`, `${repository}:v2`]);
    expect(await run('docker', ['push', `${repository}:latest`])).toMatch(/latest: digest:/);
    expect(await run('docker', ['push', `${repository}:v2`])).toMatch(/v2: digest:/);
    expect(await head('v2')).toBe(await head('latest'));
    expect(await head('v2')).not.toBe(digest);
  });

  it('crane tag and crane push cannot move an immutable tag; crane delete of its manifest is refused', async () => {
    const ws = await loginNewWorkspace(registry, 'immcrane'); // crane reads docker's credentials
    await repositoryRule(ws, 'release-*');
    const dir = tempDir('immutable-crane');
    const image = `${registry.registryHost}/${ws.slug}/tool`;
    const layer = async (name: string) => {
      const rootfs = path.join(dir, name);
      mkdirSync(rootfs);
      writeFileSync(path.join(rootfs, 'random.bin'), randomBytes(4096));
      await run('tar', ['-C', rootfs, '-cf', `${rootfs}.tar`, '.']);
      return `${rootfs}.tar`;
    };
    await run('crane', ['append', '--insecure', '-f', await layer('one'), '-t', `${image}:release-1`]);
    const digest = await run('crane', ['digest', '--insecure', `${image}:release-1`]);
    await run('crane', ['append', '--insecure', '-f', await layer('two'), '-t', `${image}:latest`]);
    await expect(run('crane', ['tag', '--insecure', `${image}:latest`, 'release-1'])).rejects.toThrow(/DENIED.*tag release-1 .* is immutable \(immutable tag rule "release-\*"/);
    const tarball = path.join(dir, 'latest.tar');
    await run('crane', ['pull', '--insecure', `${image}:latest`, tarball]);
    await expect(run('crane', ['push', '--insecure', tarball, `${image}:release-1`])).rejects.toThrow(/DENIED.*immutable tag rule "release-\*"/);
    // The same digest again is fine; so is a new matching tag.
    await run('crane', ['tag', '--insecure', `${image}@${digest}`, 'release-1']);
    await run('crane', ['push', '--insecure', tarball, `${image}:release-2`]);
    expect(await run('crane', ['digest', '--insecure', `${image}:release-1`])).toBe(digest);
    await expect(run('crane', ['delete', '--insecure', `${image}@${digest}`])).rejects.toThrow(/DENIED.*cannot be deleted/);
    expect((await run('crane', ['ls', '--insecure', image])).split('\n')).toEqual(['latest', 'release-1', 'release-2']);
  });

  it('deleting an immutable tag, its manifest or its image is refused through /v2, the admin API (operators too) and the JSON API, until the rule is deleted', async () => {
    const ws = await newWorkspace(registry, 'immdelete');
    const oci = new OciHttp(registry.gatewayUrl, basicAuth(ws.admin));
    const { manifest } = await oci.pushImage(`${ws.slug}/app`, 'stable');
    await oci.pushManifest(`${ws.slug}/app`, 'other', (await oci.pushImage(`${ws.slug}/app`, 'scratch')).document);
    const rule = await repositoryRule(ws, 'stable');
    const headers = { Authorization: basicAuth(ws.admin) };

    for (const reference of ['stable', manifest.digest]) {
      const response = await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/app/manifests/${reference}`, { method: 'DELETE', headers });
      expect(response.status).toBe(403);
      const body = (await response.json()) as { errors: Array<{ code: string; message: string }> };
      expect(body.errors[0]).toMatchObject({ code: 'DENIED', message: expect.stringContaining('immutable tag rule "stable" of source repository') });
    }
    for (const who of [as(ws), operator()]) {
      await expect(unaryCall(adminClient.deleteTag.bind(adminClient), { workspaceSlug: ws.slug, name: 'app', tag: 'stable' }, who)).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('immutable') });
      await expect(unaryCall(adminClient.deleteManifest.bind(adminClient), { workspaceSlug: ws.slug, name: 'app', digest: manifest.digest }, who)).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('immutable') });
      await expect(unaryCall(adminClient.deleteImage.bind(adminClient), { workspaceSlug: ws.slug, name: 'app' }, who)).rejects.toMatchObject({ code: 'DENIED', message: expect.stringContaining('nor the image') });
    }
    const json = await fetch(`${registry.gatewayUrl}/api/v1/workspaces/${ws.slug}/images/app/-/tags/stable`, { method: 'DELETE', headers });
    expect(json.status).toBe(403);
    expect(await json.text()).toContain('immutable tag rule');
    // A tag no rule matches is deleted as before.
    expect((await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/app/manifests/other`, { method: 'DELETE', headers })).status).toBe(202);

    await unaryCall(rules.deleteImmutableTagRule.bind(rules), { workspaceSlug: ws.slug, id: rule.id }, as(ws));
    expect((await fetch(`${registry.gatewayUrl}/v2/${ws.slug}/app/manifests/stable`, { method: 'DELETE', headers })).status).toBe(202);
  });

  it('rules through the admin API: who may change each level, inheritance into the effective set, bad patterns refused', async () => {
    const ws = await newWorkspace(registry, 'immrules');
    await new OciHttp(registry.gatewayUrl, basicAuth(ws.admin)).pushImage(`${ws.slug}/svc`, 'v1');
    const workspaceScope = scope(ws, Level.IMMUTABLE_TAG_RULE_LEVEL_WORKSPACE);
    // The repository's Admin is no workspace admin: workspace (and project) rules are the workspace admins'.
    await expect(unaryCall(rules.createImmutableTagRule.bind(rules), { scope: workspaceScope, pattern: '*' }, as(ws))).rejects.toMatchObject({ code: 'DENIED' });
    const everything = (await unaryCall(rules.createImmutableTagRule.bind(rules), { scope: workspaceScope, pattern: 'prod-*' }, operator())).rule!;
    const projects = await unaryCall(adminClient.listProjects.bind(adminClient), { workspaceSlug: ws.slug, pageSize: 10, pageToken: '' }, operator());
    const projectSlug = projects.projects[0]!.slug;
    await expect(unaryCall(rules.createImmutableTagRule.bind(rules), { scope: scope(ws, Level.IMMUTABLE_TAG_RULE_LEVEL_PROJECT, { projectSlug }), pattern: 'x' }, as(ws))).rejects.toMatchObject({ code: 'DENIED' });
    await unaryCall(rules.createImmutableTagRule.bind(rules), { scope: scope(ws, Level.IMMUTABLE_TAG_RULE_LEVEL_PROJECT, { projectSlug }), pattern: 'rc-?' }, operator());
    await repositoryRule(ws, 'v*');
    await unaryCall(rules.createImmutableTagRule.bind(rules), { scope: scope(ws, Level.IMMUTABLE_TAG_RULE_LEVEL_PACKAGE, { packageName: 'svc' }), pattern: 'latest' }, as(ws));

    for (const pattern of ['', '   ', 'v*/x', '[abc]']) {
      await expect(unaryCall(rules.createImmutableTagRule.bind(rules), { scope: workspaceScope, pattern }, operator())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(unaryCall(rules.createImmutableTagRule.bind(rules), { scope: { ...workspaceScope, level: Level.IMMUTABLE_TAG_RULE_LEVEL_UNSPECIFIED }, pattern: 'v*' }, operator())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

    const effective = await unaryCall(rules.getEffectiveImmutableTagRules.bind(rules), { workspaceSlug: ws.slug, packageName: 'svc' }, as(ws));
    expect(effective.rules.map((r) => [r.level, r.pattern])).toEqual([
      [Level.IMMUTABLE_TAG_RULE_LEVEL_WORKSPACE, 'prod-*'],
      [Level.IMMUTABLE_TAG_RULE_LEVEL_PROJECT, 'rc-?'],
      [Level.IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY, 'v*'],
      [Level.IMMUTABLE_TAG_RULE_LEVEL_PACKAGE, 'latest'],
    ]);
    const atWorkspace = await unaryCall(rules.listImmutableTagRules.bind(rules), { scope: workspaceScope }, as(ws));
    expect(atWorkspace.rules.map((r) => r.pattern)).toEqual(['prod-*']);
    const all = await unaryCall(rules.listImmutableTagRules.bind(rules), { scope: { ...workspaceScope, level: Level.IMMUTABLE_TAG_RULE_LEVEL_UNSPECIFIED } }, as(ws));
    expect(all.rules).toHaveLength(4);
    // Another workspace's admin finds nothing here.
    const stranger = await newWorkspace(registry, 'immstranger');
    await expect(unaryCall(rules.getEffectiveImmutableTagRules.bind(rules), { workspaceSlug: ws.slug, packageName: 'svc' }, as(stranger))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(unaryCall(rules.deleteImmutableTagRule.bind(rules), { workspaceSlug: ws.slug, id: everything.id }, as(stranger))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The repository's Admin may not delete the workspace's rule; an operator may. Each change is in the audit log.
    await expect(unaryCall(rules.deleteImmutableTagRule.bind(rules), { workspaceSlug: ws.slug, id: everything.id }, as(ws))).rejects.toMatchObject({ code: 'DENIED' });
    await unaryCall(rules.deleteImmutableTagRule.bind(rules), { workspaceSlug: ws.slug, id: everything.id }, operator());
    expect((await unaryCall(rules.getEffectiveImmutableTagRules.bind(rules), { workspaceSlug: ws.slug, packageName: 'svc' }, as(ws))).rules).toHaveLength(3);
  });

  it('rules through the JSON API and registryctl', async () => {
    const ws = await newWorkspace(registry, 'immjson');
    await new OciHttp(registry.gatewayUrl, basicAuth(ws.admin)).pushImage(`${ws.slug}/web`, 'v1');
    const headers = { Authorization: basicAuth(ws.admin), 'Content-Type': 'application/json' };
    const base = `${registry.gatewayUrl}/api/v1/workspaces/${ws.slug}`;
    const post = (body: unknown) => fetch(`${base}/immutable-tag-rules`, { method: 'POST', headers, body: JSON.stringify(body) });

    const empty = await post({ level: 'source_repository', sourceRepositoryId: ws.sourceRepositoryId, pattern: '' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('pattern is required');
    const malformed = await post({ level: 'source_repository', sourceRepositoryId: ws.sourceRepositoryId, pattern: 'v[0-9]' });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain('pattern: must be');
    expect((await post({ level: 'everywhere', pattern: 'v*' })).status).toBe(400);
    expect((await post({ level: 'workspace', pattern: 'v*' })).status).toBe(403); // a repository Admin is no workspace admin
    const created = await post({ level: 'package', package: 'web', pattern: 'v*' });
    expect(created.status).toBe(201);
    const { rule } = (await created.json()) as { rule: { id: string; level: string; scopeName: string; packageName: string } };
    expect(rule).toMatchObject({ level: 'package', packageName: 'web', scopeName: `${ws.slug}/web` });

    const effective = (await (await fetch(`${base}/images/web/-/immutable-tag-rules`, { headers })).json()) as { rules: Array<{ pattern: string; level: string }> };
    expect(effective.rules).toEqual([expect.objectContaining({ pattern: 'v*', level: 'package' })]);
    const listed = (await (await fetch(`${base}/immutable-tag-rules`, { headers })).json()) as { rules: unknown[] };
    expect(listed.rules).toHaveLength(1);
    expect((await fetch(`${base}/immutable-tag-rules/${rule.id}`, { method: 'DELETE', headers })).status).toBe(200);
    expect((await fetch(`${base}/immutable-tag-rules/${rule.id}`, { method: 'DELETE', headers })).status).toBe(404);

    // registryctl, as an operator.
    const ctl = async (...args: string[]) => JSON.parse((await run(process.execPath, [CLI, '--admin', registry.adminAddress, '--token', registry.operator.token, 'immutable', ...args])) || '{}');
    const made = await ctl('create', ws.slug, 'release-*', '--source-repository', ws.sourceRepositoryId);
    expect(made.rule).toMatchObject({ pattern: 'release-*', level: 'IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY' });
    await ctl('create', ws.slug, '*');
    expect((await ctl('list', ws.slug)).rules.map((r: { pattern: string }) => r.pattern)).toEqual(['*', 'release-*']);
    expect((await ctl('list', ws.slug, '--workspace-only')).rules.map((r: { pattern: string }) => r.pattern)).toEqual(['*']);
    expect((await ctl('effective', ws.slug, 'web')).rules.map((r: { level: string }) => r.level)).toEqual(['IMMUTABLE_TAG_RULE_LEVEL_WORKSPACE', 'IMMUTABLE_TAG_RULE_LEVEL_SOURCE_REPOSITORY']);
    await expect(ctl('create', ws.slug, '')).rejects.toThrow(/INVALID_ARGUMENT: pattern: is required/);
    await expect(ctl('create', ws.slug, 'x', '--project', 'a', '--package', 'b')).rejects.toThrow(/at most one of/);
    await ctl('delete', ws.slug, made.rule.id);
    expect((await ctl('list', ws.slug)).rules).toHaveLength(1);
  });
});
