import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MetadataModel } from './metadata-model';
import { unique, withTestbed, world, TEST_ORIGIN } from './metadata-testbed';

describe('PackageCreationOnPush against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('refuses a push to a name without a package, unless the workspace creates packages on push and the pusher may write to its default repository', async () => {
    const { slug, api, web } = await world(model);
    await model.memberships.set(api.id, 'writer@example.com', 'write', TEST_ORIGIN);
    await model.memberships.set(web.id, 'elsewhere@example.com', 'write', TEST_ORIGIN);
    const check = (repository: string, pusher: string) => model.packagesOnPush.ensure(repository, pusher, { create: false });
    await expect(check(`${slug}/new-image`, 'writer@example.com')).rejects.toMatchObject({ code: 'NAME_UNKNOWN', message: expect.stringContaining('registryctl package create') });
    await expect(check(`${unique('nows')}/image`, 'writer@example.com')).rejects.toMatchObject({ code: 'NAME_UNKNOWN', message: expect.stringContaining('does not exist') });
    await model.workspaces.updateSettings(slug, { createPackagesOnPush: true, defaultSourceRepositoryId: api.id }, TEST_ORIGIN);
    // A Write member of another repository gets no role on the new name, and cannot create it.
    expect((await model.access.roleOn('elsewhere@example.com', `${slug}/new-image`)).role).toBeUndefined();
    await expect(check(`${slug}/new-image`, 'elsewhere@example.com')).rejects.toMatchObject({ code: 'DENIED' });
    expect((await model.access.roleOn('writer@example.com', `${slug}/new-image`)).role).toBe('write');
    // The check creates nothing; the push's first write does, in its own transaction.
    await check(`${slug}/new-image`, 'writer@example.com');
    await expect(model.packages.get(slug, 'new-image')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const blob = (content: Buffer) => ({ digest: `sha256:${createHash('sha256').update(content).digest('hex')}`, size: content.length, storageKey: `blobs/${randomBytes(4).toString('hex')}` });
    await expect(model.blobs.link(`${slug}/other-image`, blob(randomBytes(8)), 'elsewhere@example.com', TEST_ORIGIN)).rejects.toMatchObject({ code: 'DENIED' });
    await expect(model.packages.get(slug, 'other-image')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await model.blobs.link(`${slug}/new-image`, blob(randomBytes(8)), 'writer@example.com', TEST_ORIGIN);
    expect(await model.packages.get(slug, 'new-image')).toMatchObject({ name: 'new-image', sourceRepositoryId: api.id });
    await check(`${slug}/new-image`, 'elsewhere@example.com'); // it exists now: pushing is a matter of the role on it
  });
});
