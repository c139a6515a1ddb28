import { describe, expect, it } from 'vitest';
import { describeManifest } from './describe';

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('describeManifest', () => {
  it('reads an image: config platform and created time, layers', () => {
    const facts = describeManifest({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content: json({
        schemaVersion: 2,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(1), size: 100 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest(2), size: 2000 }],
      }),
      platform: 'linux/arm64/v8',
      created: '2026-01-02T03:04:05.123456789Z',
    });
    expect(facts).toEqual({
      kind: 'image',
      artifactType: '',
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      created: '2026-01-02T03:04:05.123Z',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(1), size: 100 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest(2), size: 2000 }],
      entries: [],
    });
  });

  it('groups an index by platform and labels buildx attestations instead of showing unknown/unknown', () => {
    const facts = describeManifest({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      content: json({
        schemaVersion: 2,
        manifests: [
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(3), size: 500, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(4), size: 501, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: digest(5),
            size: 840,
            platform: { os: 'unknown', architecture: 'unknown' },
            annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': digest(3) },
          },
        ],
      }),
    });
    expect(facts.kind).toBe('index');
    expect(facts.entries.map((entry) => [entry.kind, entry.platform])).toEqual([
      ['image', { os: 'linux', architecture: 'amd64', variant: '' }],
      ['image', { os: 'linux', architecture: 'arm', variant: 'v7' }],
      ['attestation', undefined],
    ]);
  });

  it('labels signatures and SBOM attestations, keeping their subject', () => {
    const signature = describeManifest({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content: json({
        schemaVersion: 2,
        artifactType: 'application/vnd.cncf.notary.signature',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digest(6), size: 2 },
        layers: [{ mediaType: 'application/jose+json', digest: digest(7), size: 10 }],
        subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(8), size: 10 },
      }),
      platform: 'linux/amd64',
    });
    expect(signature).toMatchObject({ kind: 'signature', subject: digest(8) });
    expect(signature.platform).toBeUndefined();
    const cosign = describeManifest({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content: json({ config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(1), size: 2 }, layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: digest(2), size: 3 }] }),
    });
    expect(cosign.kind).toBe('signature');
    const sbom = describeManifest({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content: json({ artifactType: 'application/spdx+json', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digest(6), size: 2 }, layers: [] }),
    });
    expect(sbom.kind).toBe('attestation');
    // What cosign attest stores: an image config and one DSSE envelope.
    const attestation = describeManifest({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content: json({ config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(1), size: 233 }, layers: [{ mediaType: 'application/vnd.dsse.envelope.v1+json', digest: digest(2), size: 704 }] }),
    });
    expect(attestation.kind).toBe('attestation');
  });

  it('calls other config types artifacts (a Helm chart) and survives malformed bytes', () => {
    const chart = describeManifest({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      content: json({ config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: digest(1), size: 2 }, layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: digest(2), size: 3 }] }),
    });
    expect(chart).toMatchObject({ kind: 'artifact', artifactType: 'application/vnd.cncf.helm.config.v1+json' });
    expect(describeManifest({ mediaType: 'application/vnd.oci.image.manifest.v1+json', content: Buffer.from('{not json') })).toEqual({ kind: 'image', artifactType: '', layers: [], entries: [] });
  });
});
