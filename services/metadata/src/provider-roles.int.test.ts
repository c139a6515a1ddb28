import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { createMetadataModel, type MetadataModel } from './metadata-model';
import { withTestbed, world, TEST_ORIGIN } from './metadata-testbed';

describe('roles an identity provider\'s groups give, against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;
  withTestbed((testbed) => ({ pool, model } = testbed));

  it('grants what the groups give at each sign-in, takes back what they no longer give, and leaves roles given by hand', async () => {
    const announced: string[] = [];
    const announcing = createMetadataModel(pool, { changes: { announce: async (subject) => void announced.push(subject) } });
    const { slug, api, web } = await world(announcing);
    const user = randomUUID();
    // Given by hand: read on web.
    await announcing.memberships.set(web.id, user, 'read', TEST_ORIGIN);
    announced.length = 0;

    const first = await announcing.providerRoles.apply(user, 'corp', [
      { workspaceSlug: slug, sourceRepository: '', role: 'admin' },
      { workspaceSlug: slug, sourceRepository: 'platform/api', role: 'write' },
      { workspaceSlug: slug, sourceRepository: 'platform/missing', role: 'write' },
      { workspaceSlug: 'no-such-workspace', sourceRepository: '', role: 'admin' },
    ]);
    expect(first).toEqual({ applied: 2, skipped: [`${slug}/platform/missing`, 'no-such-workspace'] });
    expect(await model.access.isWorkspaceAdmin(user, slug)).toBe(true);
    expect(await model.memberships.list(api.id)).toContainEqual({ userId: user, role: 'write' });
    expect(announced).toEqual([`user:${user}`]);

    // The same groups again: nothing changes, nothing is announced.
    announced.length = 0;
    await announcing.providerRoles.apply(user, 'corp', [
      { workspaceSlug: slug, sourceRepository: '', role: 'admin' },
      { workspaceSlug: slug, sourceRepository: 'platform/api', role: 'write' },
    ]);
    expect(announced).toEqual([]);

    // Out of the admins' group: workspace admin is taken back, the repository role stays; the hand-given role is untouched.
    await announcing.providerRoles.apply(user, 'corp', [{ workspaceSlug: slug, sourceRepository: 'platform/api', role: 'write' }]);
    expect(await model.access.isWorkspaceAdmin(user, slug)).toBe(false);
    expect(await model.memberships.list(api.id)).toContainEqual({ userId: user, role: 'write' });
    // Out of every group: the provider's grants end, the hand-given read on web stays.
    await announcing.providerRoles.apply(user, 'corp', []);
    expect((await model.memberships.list(api.id)).find((m) => m.userId === user)).toBeUndefined();
    expect(await model.memberships.list(web.id)).toContainEqual({ userId: user, role: 'read' });
    expect(announced).toEqual([`user:${user}`, `user:${user}`]);

    await expect(model.providerRoles.apply('not a user', 'corp', [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'user_id' } });
    await expect(model.providerRoles.apply(user, 'Bad Name', [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'provider' } });
  });
});
