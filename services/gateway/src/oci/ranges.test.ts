import { describe, expect, it } from 'vitest';
import { acceptsManifest } from './manifests';
import { parseContentRange, parseRange } from './ranges';

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
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(() => parseContentRange('nonsense')).toThrowError(expect.objectContaining({ code: 'RANGE_INVALID', httpStatus: 416 }));
    expect(() => parseContentRange('200-100')).toThrowError(expect.objectContaining({ code: 'RANGE_INVALID', httpStatus: 416 }));
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
