import type { ParsedManifest } from '@ocireg/oci';
import type { metadata } from '@ocireg/proto';

/** Metadata's PutManifest request for a parsed manifest: a push's (manifests.ts) or a pull-through fill's (proxy/proxy-manifests.ts). */
export function putManifestRequest(
  manifest: { name: string; tags: string[]; digest: string; content: Buffer; parsed: ParsedManifest },
  userId: string,
  pullThrough: boolean,
): metadata.PutManifestRequest {
  const { parsed } = manifest;
  return {
    name: manifest.name,
    tags: manifest.tags,
    digest: manifest.digest,
    mediaType: parsed.mediaType,
    content: manifest.content,
    blobDigests: [],
    blobDescriptors: parsed.blobs,
    manifestDigests: parsed.manifestDigests,
    subjectDigest: parsed.subjectDigest ?? '',
    artifactType: parsed.artifactType ?? '',
    annotationsJson: parsed.annotations ? JSON.stringify(parsed.annotations) : '',
    platform: '',
    created: '',
    userId,
    pullThrough,
  };
}
