import { parseCosignTag, type BlobFacts, type IndexEntryFacts, type Platform } from '@ocireg/oci';
import { foldedTagsOf } from './folded-tags';

/**
 * How listings show manifests: views built from the read model's rows, an
 * index with its entries nested, signatures and attestations (OCI 1.1
 * referrers and cosign's tags) under the manifest they are about.
 */

export interface ManifestView {
  digest: string;
  mediaType: string;
  kind: string;
  artifactType: string;
  /** Compressed: config and layers; an index: its entries' compressed sizes. */
  size: number;
  platforms: Platform[];
  created: string;
  pushedAt: string;
  layers: BlobFacts[];
  /** Signatures and attestations: the manifest they are about (cosign's: the one their tag names). */
  subject: string;
  tags: string[];
  children: ManifestView[];
  /** A signature is about it (a referrer, or a cosign `.sig` tag). */
  signed: boolean;
}

/** A manifest as the read model's queries select it. */
export interface ManifestRow {
  digest: string;
  media_type: string;
  kind: string;
  artifact_type: string;
  platform_os: string | null;
  platform_architecture: string | null;
  platform_variant: string | null;
  created: Date | null;
  subject: string | null;
  config: BlobFacts | null;
  layers: BlobFacts[];
  entries: IndexEntryFacts[];
  pushed_at: Date;
}

/** What views are built from: the manifests (index entries are looked up in), the tags naming them, the digests a signature is about. */
export interface ViewContext {
  all: ManifestRow[];
  tags: ReadonlyArray<{ tag: string; digest: string }>;
  signed: ReadonlySet<string>;
}

/**
 * A repository's contents as listings show them: the manifests cosign's
 * tags point to take their subject and kind from the tag (as an index's
 * entries take their kind from the index), and those tags are not listed.
 */
export function withFoldedTags({ tags, manifests }: { tags: Array<{ tag: string; digest: string; updatedAt: string }>; manifests: ManifestRow[] }) {
  const folded = foldedTagsOf(tags, new Set(manifests.map((m) => m.digest)));
  const foldedNames = new Set(folded.map((f) => f.tag));
  const foldOf = new Map(folded.map((f) => [f.digest, f]));
  const all = manifests.map((m) => {
    const fold = foldOf.get(m.digest);
    return fold ? { ...m, subject: m.subject ?? fold.subject, kind: fold.kind } : m;
  });
  const context: ViewContext = { all, tags, signed: signedSubjectsOf(all) };
  return { tags, listedTags: tags.filter((t) => !foldedNames.has(t.tag)), context };
}

/** Referrers by `subject`, then the manifests of cosign's tags (labelled by their tag), each manifest once, newest first. */
export function referrersOf(bySubject: ManifestRow[], tagged: Array<ManifestRow & { tag: string }>): ManifestRow[] {
  const merged = new Map(bySubject.map((row) => [row.digest, row]));
  for (const { tag, ...row } of tagged) {
    const cosign = parseCosignTag(tag);
    if (cosign && !merged.has(row.digest)) merged.set(row.digest, { ...row, subject: row.subject ?? cosign.subject, kind: cosign.kind });
  }
  return [...merged.values()].sort((a, b) => b.pushed_at.getTime() - a.pushed_at.getTime() || a.digest.localeCompare(b.digest));
}

/** The digests some signature among `rows` is about. */
export function signedSubjectsOf(rows: ManifestRow[]): Set<string> {
  return new Set(rows.flatMap((row) => (row.kind === 'signature' && row.subject !== null ? [row.subject] : [])));
}

/** A manifest as listings show it; an index nests its entries (one level: indexes of indexes are rare and listed flat). */
export function viewOf(row: ManifestRow, context: ViewContext, depth = 0): ManifestView {
  const children =
    depth === 0
      ? row.entries.map((entry) => {
          const stored = context.all.find((m) => m.digest === entry.digest);
          const child = stored ? viewOf(stored, context, depth + 1) : placeholderOf(entry);
          // The index says what an entry is for (an attestation, a platform), whatever the entry says of itself.
          return { ...child, kind: entry.kind, platforms: entry.platform ? [entry.platform] : [] };
        })
      : [];
  const ownSize = (row.config?.size ?? 0) + row.layers.reduce((sum, layer) => sum + layer.size, 0);
  const platform = row.platform_os && row.platform_architecture ? { os: row.platform_os, architecture: row.platform_architecture, variant: row.platform_variant ?? '' } : undefined;
  return {
    digest: row.digest,
    mediaType: row.media_type,
    kind: row.kind,
    artifactType: row.artifact_type,
    size: row.kind === 'index' ? children.reduce((sum, child) => sum + child.size, 0) : ownSize,
    platforms: row.kind === 'index' ? children.filter((child) => child.kind === 'image').flatMap((child) => child.platforms) : platform ? [platform] : [],
    created: row.created?.toISOString() ?? '',
    pushedAt: row.pushed_at.toISOString(),
    layers: row.layers,
    subject: row.subject ?? '',
    tags: context.tags.filter((t) => t.digest === row.digest).map((t) => t.tag),
    children,
    signed: context.signed.has(row.digest),
  };
}

/** An index entry whose manifest is not in the repository (not pushed, or not indexed yet). */
function placeholderOf(entry: IndexEntryFacts): ManifestView {
  return { digest: entry.digest, mediaType: entry.mediaType, kind: entry.kind, artifactType: '', size: 0, platforms: [], created: '', pushedAt: '', layers: [], subject: '', tags: [], children: [], signed: false };
}
