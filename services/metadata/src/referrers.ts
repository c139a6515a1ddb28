import type { Pool } from 'pg';
import { parseDigest, parseRepositoryName } from '@ocireg/oci';

export interface ReferrerRecord {
  mediaType: string;
  digest: string;
  size: number;
  artifactType: string;
  annotations?: Record<string, string>;
}

/** The OCI referrers API: the manifests in a repository whose subject is a given manifest, oldest first. */
export class Referrers {
  constructor(private readonly pool: Pool) {}

  async list(repository: string, digest: string, artifactType?: string): Promise<ReferrerRecord[]> {
    parseRepositoryName(repository);
    parseDigest(digest);
    const { rows } = await this.pool.query<{ media_type: string; digest: string; size: string; artifact_type: string | null; annotations: Record<string, string> | null }>(
      `SELECT media_type, digest, size, artifact_type, annotations FROM manifests
       WHERE repository = $1 AND subject_digest = $2 AND ($3::text IS NULL OR artifact_type = $3)
       ORDER BY created_at, digest`,
      [repository, digest, artifactType || null],
    );
    return rows.map((row) => ({
      mediaType: row.media_type,
      digest: row.digest,
      size: Number(row.size),
      artifactType: row.artifact_type ?? '',
      ...(row.annotations ? { annotations: row.annotations } : {}),
    }));
  }
}
