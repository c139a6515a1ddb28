// Metadata's changes in the audit log: one entry per change, in its
// transaction (a refused change leaves none), with what changed; a change
// that changes nothing records nothing.
import { describe, expect, it } from 'vitest';
import { OPERATOR } from './access';
import { digestOf, TEST_ORIGIN, unique, withTestbed, world, type Testbed } from './metadata-testbed';

describe('the audit log of metadata', () => {
  let bed: Testbed;
  withTestbed((opened) => (bed = opened));
  const entries = async (workspace: string) =>
    (await bed.pool.query<{ action: string; target_name: string; before: unknown; after: unknown; actor_user_id: string; request_id: string }>(
      'SELECT action, target_name, before, after, actor_user_id, request_id FROM audit_log WHERE workspace = $1 ORDER BY seq',
      [workspace],
    )).rows;

  it('records each change once, with its origin and before/after, and nothing for what did not change', async () => {
    const { model } = bed;
    const { slug, api } = await world(model);
    const origin = { ...TEST_ORIGIN, userId: '00000000-0000-4000-8000-0000000000aa', requestId: unique('req') };
    expect((await entries(slug)).map((e) => e.action)).toEqual(['workspace.created', 'project.created', 'source-repository.created', 'source-repository.created']);

    const user = '00000000-0000-4000-8000-0000000000bb';
    await model.memberships.set(api.id, user, 'write', origin);
    await model.memberships.set(api.id, user, 'write', origin); // the same role again: nothing changes
    await model.memberships.set(api.id, user, 'admin', origin);
    await model.workspaces.updateSettings(slug, { publicPull: true, plan: 'team' }, origin);
    await model.workspaces.updateSettings(slug, { publicPull: true }, origin); // as it is

    const pkg = await model.packages.create({ requestId: '', workspaceSlug: slug, name: 'app', sourceRepositoryId: api.id, actorUserId: OPERATOR }, origin);
    const repository = `${slug}/app`;
    const content = Buffer.from('{"schemaVersion":2,"audit":1}');
    const put = (tags: string[], bytes = content) => model.manifests.put({ origin, repository, tags, digest: digestOf(bytes), mediaType: 'application/vnd.oci.image.manifest.v1+json', content: bytes, blobDigests: [], manifestDigests: [] });
    await put(['v1', 'latest']);
    await put(['v1', 'latest']); // the same push again
    const other = Buffer.from('{"schemaVersion":2,"audit":2}');
    await put(['latest'], other); // a new manifest takes "latest"
    await put(['v1', 'latest']); // and it moves back
    // Refused (a blob it references is unknown): rolled back with its entry.
    await expect(model.manifests.put({ origin, repository, tags: ['broken'], digest: digestOf('{}'), mediaType: 'x', content: Buffer.from('{}'), blobDigests: [`sha256:${'0'.repeat(64)}`], manifestDigests: [] })).rejects.toMatchObject({ code: 'MANIFEST_BLOB_UNKNOWN' });
    await model.deletions.deleteTag(repository, 'v1', origin);
    await model.deletions.deleteManifest(repository, digestOf(other), origin);
    await model.memberships.remove(api.id, user, origin);

    const recorded = (await entries(slug)).slice(4);
    expect(recorded.map((e) => [e.action, e.target_name])).toEqual([
      ['member.role-set', `${slug}/platform/api`],
      ['member.role-set', `${slug}/platform/api`],
      ['workspace.settings-changed', slug],
      ['package.created', repository],
      ['manifest.pushed', repository],
      ['manifest.pushed', repository],
      ['tag.updated', repository],
      ['tag.deleted', `${repository}:v1`],
      ['manifest.deleted', repository],
      ['member.removed', `${slug}/platform/api`],
    ]);
    expect(recorded[0]).toMatchObject({ before: { role: null }, after: { role: 'write' }, actor_user_id: origin.userId, request_id: origin.requestId });
    expect(recorded[1]).toMatchObject({ before: { role: 'write' }, after: { role: 'admin' } });
    expect(recorded[2]).toMatchObject({ before: { publicPull: false, plan: expect.any(String) }, after: { publicPull: true, plan: 'team' } });
    expect(recorded[3]).toMatchObject({ after: { sourceRepositoryId: pkg.sourceRepositoryId } });
    expect(recorded[4]).toMatchObject({ after: { digest: digestOf(content), tags: ['v1', 'latest'] } });
    expect(recorded[5]).toMatchObject({ before: { tags: { latest: digestOf(content) } }, after: { digest: digestOf(other), tags: ['latest'] } });
    expect(recorded[6]).toMatchObject({ before: { tags: { latest: digestOf(other) } }, after: { digest: digestOf(content), tags: ['latest'] } });
    expect(recorded[7]).toMatchObject({ before: { digest: digestOf(content) } });
    expect(recorded[8]).toMatchObject({ before: { tags: [] } });
  });
});
