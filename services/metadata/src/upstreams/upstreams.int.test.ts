import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { createMetadataModel, type MetadataModel } from '../metadata-model';
import { digestOf, TEST_ORIGIN, unique, withTestbed, world } from '../metadata-testbed';
import { CredentialSeal } from './credential-seal';

describe('Upstreams against PostgreSQL', () => {
  let pool: Pool;
  let model: MetadataModel;
  let keyless: MetadataModel;
  withTestbed((testbed) => {
    pool = testbed.pool;
    keyless = testbed.model;
    model = createMetadataModel(testbed.pool, { credentials: new CredentialSeal(randomBytes(32).toString('base64')) });
  });

  it('stores the password sealed, shows only that there is one, and opens it for the gateway alone', async () => {
    const { slug, api } = await world(model);
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const created = await model.upstreams.create({ workspaceSlug: slug, name: 'hub', url: 'https://registry.example.test/', username: 'bot', password, sourceRepositoryId: api.id, namespaces: ['library'], tagTtlSeconds: 60 });
    expect(created).toMatchObject({ name: 'hub', url: 'https://registry.example.test', username: 'bot', hasPassword: true, namespaces: ['library'], tagTtlSeconds: 60 });
    expect(JSON.stringify(created)).not.toContain(password);
    expect(JSON.stringify(await model.upstreams.list(slug))).not.toContain(password);

    const { rows } = await pool.query<{ password_sealed: Buffer }>('SELECT u.password_sealed FROM upstreams u JOIN workspaces w ON w.id = u.workspace_id WHERE w.slug = $1', [slug]);
    expect(rows[0]!.password_sealed.includes(Buffer.from(password))).toBe(false);
    expect((await model.upstreams.resolve(slug, 'hub'))?.password).toBe(password);
    expect(await model.upstreams.resolve(slug, 'other')).toBeUndefined();
    // Another key cannot open it: a clear error, not garbage.
    await expect(keyless.upstreams.resolve(slug, 'hub')).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });

    await expect(model.upstreams.create({ ...created, password: '', workspaceSlug: slug })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await model.upstreams.delete(slug, 'hub');
    expect(await model.upstreams.list(slug)).toEqual([]);
    await expect(model.upstreams.get(slug, 'hub')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses bad fields and a password without a key', async () => {
    const { slug, api } = await world(model);
    const base = { workspaceSlug: slug, name: 'hub', url: 'https://r.example.test', username: '', password: '', sourceRepositoryId: api.id, namespaces: [], tagTtlSeconds: 300 };
    await expect(keyless.upstreams.create({ ...base, username: 'u', password: 'p' })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await expect(model.upstreams.create({ ...base, url: 'https://u:p@r.example.test' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'url' } });
    await expect(model.upstreams.create({ ...base, url: 'ftp://r.example.test' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'url' } });
    await expect(model.upstreams.create({ ...base, name: 'Hub!' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'name' } });
    await expect(model.upstreams.create({ ...base, namespaces: ['../x'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'namespaces' } });
    await expect(model.upstreams.create({ ...base, password: 'p' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'username' } });
    await expect(model.upstreams.create({ ...base, tagTtlSeconds: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', detail: { field: 'tag_ttl_seconds' } });
    const other = await world(model);
    await expect(model.upstreams.create({ ...base, sourceRepositoryId: other.api.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await keyless.upstreams.create(base)).toMatchObject({ hasPassword: false });
  });

  it('gives Read on the upstream repository a pull role on names it serves, and fills create their package there', async () => {
    const { slug, api, web } = await world(model);
    await model.upstreams.create({ workspaceSlug: slug, name: 'hub', url: 'http://127.0.0.1:1', username: '', password: '', sourceRepositoryId: api.id, namespaces: [], tagTtlSeconds: 300 });
    const reader = unique('reader');
    const outsider = unique('outsider');
    await model.memberships.set(api.id, reader, 'read', TEST_ORIGIN);
    await model.memberships.set(web.id, outsider, 'admin', TEST_ORIGIN);
    const name = `${slug}/hub/library/alpine`;
    expect(await model.access.roleOn(reader, name)).toMatchObject({ role: 'read', packageExists: false });
    expect((await model.access.roleOn(outsider, name)).role).toBeUndefined();
    // The upstream segment alone names no upstream repository.
    expect((await model.access.roleOn(reader, `${slug}/hub`)).role).toBeUndefined();

    const layer = { digest: digestOf('layer'), size: 5, storageKey: `blobs/${digestOf('layer')}` };
    await expect(model.blobs.link(name, layer, outsider, TEST_ORIGIN, true)).rejects.toMatchObject({ code: 'DENIED' });
    await expect(model.blobs.link(`${slug}/nothub/x`, layer, reader, TEST_ORIGIN, true)).rejects.toMatchObject({ code: 'NAME_UNKNOWN' });
    // A reader may not push there: only fills create packages for Read.
    await expect(model.blobs.link(name, layer, reader, TEST_ORIGIN)).rejects.toMatchObject({ code: 'NAME_UNKNOWN' });
    await model.blobs.link(name, layer, reader, TEST_ORIGIN, true);
    expect(await model.packages.get(slug, 'hub/library/alpine')).toMatchObject({ sourceRepositoryId: api.id });

    // A filled manifest may reference blobs not fetched yet.
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { digest: digestOf('cfg'), size: 3 }, layers: [] }));
    await model.manifests.put({ repository: name, tags: ['3'], digest: digestOf(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', content, blobDigests: [digestOf('cfg')], manifestDigests: [], pusher: reader, pullThrough: true, origin: TEST_ORIGIN });
    expect((await model.manifests.get(name, '3')).digest).toBe(digestOf(content));
  });
});
