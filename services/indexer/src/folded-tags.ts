import { COSIGN_TAG_PATTERN, parseCosignTag, type CosignTag } from '@ocireg/oci';

/**
 * cosign stores a manifest's signatures, attestations and SBOMs under tags
 * named for its digest (`sha256-<hex>.sig`, `.att`, `.sbom`). Listings fold
 * them under that manifest, as they show OCI 1.1 referrers (manifests whose
 * `subject` names it), instead of listing them among the image's tags. Only
 * while the subject is in the repository: one whose subject is gone stays an
 * ordinary tag, so that nothing stored drops out of sight. The OCI tags list
 * (/v2/<name>/tags/list) is not a listing: it names every tag, as clients
 * find signatures by these names.
 */
export interface FoldedTag extends CosignTag {
  tag: string;
  /** The manifest the tag points to (the signature, attestation or SBOM). */
  digest: string;
}

/**
 * SQL: the tag row `alias` (of idx_tags) is folded under its subject. The
 * regex is checked first, so the subject lookup (a primary-key probe) runs
 * for cosign's tags alone.
 */
export function foldedTagSql(alias: string): string {
  return `(${alias}.tag ~ '${COSIGN_TAG_PATTERN}' AND EXISTS (SELECT 1 FROM idx_manifests folded_subject
    WHERE folded_subject.repository = ${alias}.repository AND folded_subject.digest = replace(split_part(${alias}.tag, '.', 1), '-', ':')))`;
}

/** Which of a repository's tags are folded, given the digests of every manifest it holds. */
export function foldedTagsOf(tags: ReadonlyArray<{ tag: string; digest: string }>, manifestDigests: ReadonlySet<string>): FoldedTag[] {
  return tags.flatMap(({ tag, digest }) => {
    const cosign = parseCosignTag(tag);
    return cosign && manifestDigests.has(cosign.subject) ? [{ tag, digest, ...cosign }] : [];
  });
}
