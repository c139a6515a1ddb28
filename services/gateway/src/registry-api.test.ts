import { describe, expect, it } from 'vitest';
import { acceptsManifest, parseContentRangeStart, parseManifest, parseRange } from './registry-api';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

describe('manifest content negotiation', () => {
  it.each([
    [undefined, OCI_INDEX, true],
    ['', OCI_INDEX, true],
    [`${DOCKER_MANIFEST}, ${DOCKER_LIST}`, OCI_INDEX, false],
    [`${DOCKER_MANIFEST}, ${DOCKER_LIST}, ${OCI_INDEX};q=0.5`, OCI_INDEX, true],
    ['*/*', DOCKER_LIST, true],
    [OCI_MANIFEST, DOCKER_LIST, false],
    [OCI_MANIFEST, DOCKER_MANIFEST, true], // single manifests are always served
    ['application/json', OCI_MANIFEST, true],
  ])('Accept %j for %s -> %s', (accept, mediaType, expected) => {
    expect(acceptsManifest(accept, mediaType)).toBe(expected);
  });
});

describe('ranges', () => {
  it('reads Content-Range with and without "bytes"', () => {
    expect(parseContentRangeStart('0-99')).toBe(0);
    expect(parseContentRangeStart('bytes 100-199')).toBe(100);
    expect(parseContentRangeStart(undefined)).toBeUndefined();
    expect(() => parseContentRangeStart('nonsense')).toThrowError(expect.objectContaining({ code: 'RANGE_INVALID', httpStatus: 416 }));
  });

  it('serves single byte ranges, suffix ranges, and refuses impossible ones with 416', () => {
    expect(parseRange('bytes=10-19', 100)).toEqual({ start: 10, end: 19 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-5', 100)).toEqual({ start: 95, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(() => parseRange('bytes=100-', 100)).toThrowError(expect.objectContaining({ httpStatus: 416 }));
    expect(() => parseRange('bytes=1-2,5-6', 100)).toThrowError(expect.objectContaining({ httpStatus: 416 }));
  });
});

describe('parseManifest', () => {
  const digest = (c: string) => `sha256:${c.repeat(64)}`;

  it('reads an image manifest without top-level mediaType from Content-Type, as Helm pushes it', () => {
    const content = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: digest('a') }, layers: [{ digest: digest('b') }] }));
    expect(parseManifest(content, OCI_MANIFEST)).toMatchObject({ mediaType: OCI_MANIFEST, blobDigests: [digest('a'), digest('b')], artifactType: 'application/vnd.cncf.helm.config.v1+json' });
  });

  it('reads an index, its subject and annotations', () => {
    const content = Buffer.from(JSON.stringify({ mediaType: OCI_INDEX, manifests: [{ digest: digest('c') }], subject: { digest: digest('d') }, annotations: { a: 'b' }, artifactType: 'x/y' }));
    expect(parseManifest(content, undefined)).toEqual({ mediaType: OCI_INDEX, blobDigests: [], manifestDigests: [digest('c')], subjectDigest: digest('d'), artifactType: 'x/y', annotations: { a: 'b' } });
  });

  it('skips non-distributable layers and refuses malformed manifests', () => {
    const foreign = Buffer.from(JSON.stringify({ mediaType: OCI_MANIFEST, config: { digest: digest('a') }, layers: [{ mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar', digest: digest('e') }] }));
    expect(parseManifest(foreign, undefined).blobDigests).toEqual([digest('a')]);
    expect(() => parseManifest(Buffer.from('not json'), OCI_MANIFEST)).toThrowError(expect.objectContaining({ code: 'MANIFEST_INVALID' }));
    expect(() => parseManifest(Buffer.from('{"layers":[{"digest":"sha256:xyz"}]}'), OCI_MANIFEST)).toThrowError(expect.objectContaining({ code: 'MANIFEST_INVALID' }));
    expect(() => parseManifest(Buffer.from('{}'), undefined)).toThrowError(expect.objectContaining({ code: 'MANIFEST_INVALID' }));
  });
});
