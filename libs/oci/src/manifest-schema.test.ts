import { describe, expect, it } from 'vitest';
import { parseManifest } from './manifest-schema';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const descriptor = (c: string, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip', size = 10) => ({ mediaType, digest: digest(c), size });
const body = (value: unknown) => Buffer.from(JSON.stringify(value));
const invalid = expect.objectContaining({ code: 'MANIFEST_INVALID' });

describe('parseManifest: each format against its schema', () => {
  it('reads an image manifest without top-level mediaType from Content-Type, as Helm pushes it', () => {
    const content = body({ schemaVersion: 2, config: descriptor('a', 'application/vnd.cncf.helm.config.v1+json', 5), layers: [descriptor('b')] });
    expect(parseManifest(content, OCI_MANIFEST)).toMatchObject({
      mediaType: OCI_MANIFEST,
      blobs: [{ digest: digest('a'), size: 5 }, { digest: digest('b'), size: 10 }],
      artifactType: 'application/vnd.cncf.helm.config.v1+json',
      config: { digest: digest('a'), mediaType: 'application/vnd.cncf.helm.config.v1+json', size: 5 },
    });
  });

  it('reads an index, its subject and annotations; Docker manifests and lists too', () => {
    const index = body({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor('c', OCI_MANIFEST)], subject: descriptor('d', OCI_MANIFEST), annotations: { a: 'b' }, artifactType: 'x/y' });
    expect(parseManifest(index, undefined)).toEqual({ mediaType: OCI_INDEX, blobs: [], manifestDigests: [digest('c')], subjectDigest: digest('d'), artifactType: 'x/y', annotations: { a: 'b' } });
    const docker = body({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: descriptor('a', 'application/vnd.docker.container.image.v1+json'), layers: [descriptor('b', 'application/vnd.docker.image.rootfs.diff.tar.gzip')] });
    expect(parseManifest(docker, DOCKER_MANIFEST).blobs).toHaveLength(2);
    const list = body({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [{ ...descriptor('c', DOCKER_MANIFEST), platform: { architecture: 'amd64', os: 'linux' } }] });
    expect(parseManifest(list, DOCKER_LIST).manifestDigests).toEqual([digest('c')]);
  });

  it('skips non-distributable layers', () => {
    const foreign = body({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor('a', 'application/vnd.oci.image.config.v1+json'), layers: [descriptor('e', 'application/vnd.oci.image.layer.nondistributable.v1.tar')] });
    expect(parseManifest(foreign, undefined).blobs.map((b) => b.digest)).toEqual([digest('a')]);
  });

  it.each([
    ['not JSON', Buffer.from('not json'), OCI_MANIFEST],
    ['a JSON array', body([]), OCI_MANIFEST],
    ['an object of no manifest type', body({ hello: 'world' }), 'application/json'],
    ['an object of no manifest type, without Content-Type', body({ hello: 'world' }), undefined],
    ['only a schema version', body({ schemaVersion: 2 }), OCI_MANIFEST],
    ['schema version 1', body({ schemaVersion: 1, config: descriptor('a'), layers: [] }), OCI_MANIFEST],
    ['a config without size', body({ schemaVersion: 2, config: { mediaType: 'a/b', digest: digest('a') }, layers: [] }), OCI_MANIFEST],
    ['a negative size', body({ schemaVersion: 2, config: descriptor('a', 'a/b', -1), layers: [] }), OCI_MANIFEST],
    ['a fractional size', body({ schemaVersion: 2, config: descriptor('a', 'a/b', 1.5), layers: [] }), OCI_MANIFEST],
    ['a bad digest', body({ schemaVersion: 2, config: { mediaType: 'a/b', digest: 'sha256:xyz', size: 1 }, layers: [] }), OCI_MANIFEST],
    ['a descriptor media type that is no media type', body({ schemaVersion: 2, config: descriptor('a', 'not a type'), layers: [] }), OCI_MANIFEST],
    ['no layers', body({ schemaVersion: 2, config: descriptor('a') }), OCI_MANIFEST],
    ['mediaType disagreeing with Content-Type', body({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor('a'), layers: [] }), DOCKER_MANIFEST],
    ['an index parsed as an image', body({ schemaVersion: 2, manifests: [] }), OCI_MANIFEST],
    ['a Docker list entry without platform', body({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [descriptor('c', DOCKER_MANIFEST)] }), DOCKER_LIST],
    ['annotations that are not strings', body({ schemaVersion: 2, config: descriptor('a'), layers: [], annotations: { a: 1 } }), OCI_MANIFEST],
  ])('refuses %s', (_, content, contentType) => {
    expect(() => parseManifest(content, contentType)).toThrowError(invalid);
  });

  it('ignores parameters of the Content-Type and accepts unknown fields', () => {
    const content = body({ schemaVersion: 2, config: descriptor('a'), layers: [], extra: { anything: true } });
    expect(parseManifest(content, `${OCI_MANIFEST}; charset=utf-8`).mediaType).toBe(OCI_MANIFEST);
  });
});
