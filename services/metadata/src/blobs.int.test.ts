import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MetadataModel } from './metadata-model';
import { digestOf, uniqueRepository, withTestbed, TEST_ORIGIN } from './metadata-testbed';

describe('Blobs against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('links a blob once per digest and scopes it to repositories', async () => {
    const repository = uniqueRepository();
    const content = randomBytes(10);
    const digest = digestOf(content);
    const first = await model.blobs.link(repository, { digest, size: 10, storageKey: 'blobs/first' }, undefined, TEST_ORIGIN);
    const second = await model.blobs.link(`${repository}2`, { digest, size: 10, storageKey: 'blobs/second' }, undefined, TEST_ORIGIN);
    expect(first.alreadyExisted).toBe(false);
    expect(second).toEqual({ blob: { digest, size: 10, storageKey: 'blobs/first' }, alreadyExisted: true });
    expect(await model.blobs.stat(repository, digest)).toEqual({ digest, size: 10, storageKey: 'blobs/first' });
    await expect(model.blobs.stat(`${repository}x`, digest)).rejects.toMatchObject({ code: 'BLOB_UNKNOWN' });
  });

  it('validates names and digests before any SQL', async () => {
    await expect(model.blobs.stat("acme/app'; drop table blobs; --", digestOf('x'))).rejects.toMatchObject({ code: 'NAME_INVALID' });
    await expect(model.blobs.stat('acme/app', 'sha256:../../etc')).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    await expect(model.manifests.get('acme/app', 'bad tag!')).rejects.toMatchObject({ code: 'MANIFEST_INVALID' });
  });
});
