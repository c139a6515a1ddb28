import { describe, expect, it } from 'vitest';
import type { MetadataModel } from './metadata-model';
import { digestOf, uniqueRepository, withTestbed, TEST_ORIGIN } from './metadata-testbed';

const IMAGE = 'application/vnd.oci.image.manifest.v1+json';

describe('Referrers against PostgreSQL', () => {
  let model: MetadataModel;
  withTestbed((testbed) => ({ model } = testbed));

  it('lists the manifests whose subject is a manifest, oldest first, with their artifact types and annotations, by artifact type when asked', async () => {
    const repository = uniqueRepository();
    const subject = Buffer.from('{"schemaVersion":2,"subject":true}');
    await model.manifests.put({ origin: TEST_ORIGIN, repository, tags: ['v1'], digest: digestOf(subject), mediaType: IMAGE, content: subject, blobDigests: [], manifestDigests: [] });
    const refer = async (text: string, artifactType: string, annotations?: Record<string, string>) => {
      const content = Buffer.from(`{"schemaVersion":2,"referrer":"${text}"}`);
      await model.manifests.put({ origin: TEST_ORIGIN, repository, tags: [], digest: digestOf(content), mediaType: IMAGE, content, blobDigests: [], manifestDigests: [], subjectDigest: digestOf(subject), artifactType, annotations });
      return { digest: digestOf(content), size: content.length };
    };
    const signature = await refer('signature', 'application/vnd.dev.cosign.artifact.sig.v1+json', { 'org.example.signed-by': 'ci' });
    const sbom = await refer('sbom', 'application/spdx+json');

    expect(await model.referrers.list(repository, digestOf(subject))).toEqual([
      { mediaType: IMAGE, ...signature, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', annotations: { 'org.example.signed-by': 'ci' } },
      { mediaType: IMAGE, ...sbom, artifactType: 'application/spdx+json' },
    ]);
    expect((await model.referrers.list(repository, digestOf(subject), 'application/spdx+json')).map((r) => r.digest)).toEqual([sbom.digest]);
    expect(await model.referrers.list(repository, signature.digest)).toEqual([]);
    expect(await model.referrers.list(uniqueRepository(), digestOf(subject))).toEqual([]);
    await expect(model.referrers.list(repository, 'sha256:../../etc')).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
  });
});
