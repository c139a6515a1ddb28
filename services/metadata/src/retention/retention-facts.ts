import type { Queryable } from '../lookups';
import type { BlobFact, ManifestFact, TagFact } from './evaluate';

/**
 * What retention decides over, read for one package in a few set-based
 * queries (tags, manifests, their references, and the blobs they reference
 * with whether another package of the workspace references them too).
 */
export interface PackageFacts {
  tags: TagFact[];
  manifests: ManifestFact[];
  blobs: Map<string, BlobFact>;
}

export async function readFacts(db: Queryable, repository: string, workspaceSlug: string): Promise<PackageFacts> {
  const [tags, manifests, references, blobs] = await Promise.all([
    db.query<{ name: string; digest: string; updated_at: Date; last_pulled_at: Date | null }>('SELECT name, digest, updated_at, last_pulled_at FROM tags WHERE repository = $1', [repository]),
    db.query<{ digest: string; created_at: Date; last_pulled_at: Date | null; size: string; subject_digest: string | null }>(
      'SELECT digest, created_at, last_pulled_at, size, subject_digest FROM manifests WHERE repository = $1',
      [repository],
    ),
    db.query<{ manifest_digest: string; referenced_digest: string; kind: 'blob' | 'manifest' }>('SELECT manifest_digest, referenced_digest, kind FROM manifest_references WHERE repository = $1', [repository]),
    db.query<{ digest: string; size: string; shared: boolean }>(
      `WITH mine AS (SELECT DISTINCT referenced_digest AS digest FROM manifest_references WHERE repository = $1 AND kind = 'blob')
       SELECT b.digest, b.size,
              EXISTS (SELECT 1 FROM manifest_references o WHERE o.referenced_digest = b.digest AND o.repository <> $1 AND o.repository LIKE $2) AS shared
       FROM mine JOIN blobs b ON b.digest = mine.digest`,
      [repository, `${workspaceSlug}/%`],
    ),
  ]);
  const children = new Map<string, string[]>();
  const blobRefs = new Map<string, string[]>();
  for (const ref of references.rows) {
    const into = ref.kind === 'manifest' ? children : blobRefs;
    (into.get(ref.manifest_digest) ?? into.set(ref.manifest_digest, []).get(ref.manifest_digest)!).push(ref.referenced_digest);
  }
  return {
    tags: tags.rows.map((row) => ({ name: row.name, digest: row.digest, updatedAt: row.updated_at, lastPulledAt: row.last_pulled_at })),
    manifests: manifests.rows.map((row) => ({
      digest: row.digest,
      createdAt: row.created_at,
      lastPulledAt: row.last_pulled_at,
      size: Number(row.size),
      subject: row.subject_digest,
      children: children.get(row.digest) ?? [],
      blobs: blobRefs.get(row.digest) ?? [],
    })),
    blobs: new Map(blobs.rows.map((row) => [row.digest, { size: Number(row.size), sharedElsewhere: row.shared }])),
  };
}
