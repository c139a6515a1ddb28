import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { createMetadataModel, type MetadataModel } from './metadata-model';
import { withTestbed, world, TEST_ORIGIN } from './metadata-testbed';

describe('Memberships against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;
  withTestbed((testbed) => ({ pool, model } = testbed));

  it('sets, changes, lists and removes members of a source repository, announcing each change for that user', async () => {
    const announced: string[] = [];
    const announcing = createMetadataModel(pool, { changes: { announce: async (subject) => void announced.push(subject) } });
    const { api } = await world(announcing);
    await announcing.memberships.set(api.id, 'b@example.com', 'read', TEST_ORIGIN);
    await announcing.memberships.set(api.id, 'a@example.com', 'write', TEST_ORIGIN);
    await announcing.memberships.set(api.id, 'b@example.com', 'admin', TEST_ORIGIN); // a second set changes the role
    expect(await announcing.memberships.list(api.id)).toEqual([{ userId: 'a@example.com', role: 'write' }, { userId: 'b@example.com', role: 'admin' }]);
    await announcing.memberships.remove(api.id, 'a@example.com', TEST_ORIGIN);
    await expect(announcing.memberships.remove(api.id, 'a@example.com', TEST_ORIGIN)).rejects.toMatchObject({ code: 'NOT_FOUND', detail: { field: 'user_id' } });
    expect(await announcing.memberships.list(api.id)).toEqual([{ userId: 'b@example.com', role: 'admin' }]);
    expect(announced).toEqual(['user:b@example.com', 'user:a@example.com', 'user:b@example.com', 'user:a@example.com']);

    await expect(model.memberships.set('not-a-uuid', 'b@example.com', 'read', TEST_ORIGIN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'source_repository_id' } });
    await expect(model.memberships.set(api.id, 'not a user', 'read', TEST_ORIGIN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'user_id' } });
    await expect(model.memberships.list(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND', detail: { field: 'source_repository_id' } });
  });
});
