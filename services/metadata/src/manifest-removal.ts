import type { PoolClient } from 'pg';
import { recordAudit } from '@ocireg/audit';
import { parseRepositoryName } from '@ocireg/oci';
import type { ChangeOrigin } from './change-origin';
import { recordEvent } from './outbox';

/**
 * Deletes a manifest the transaction has locked, with its tags, and tells
 * listings (a tag.deleted per tag, then manifest.deleted) and the audit log
 * (one entry, naming the tags that went with it). What the manifest
 * referenced, and the referrers that named it as their subject, go to
 * garbage collection: the database's triggers queue their reviews.
 */
export async function removeManifest(client: PoolClient, repository: string, digest: string, origin: ChangeOrigin): Promise<{ tags: string[] }> {
  const name = parseRepositoryName(repository);
  const { rows: tags } = await client.query<{ name: string }>('DELETE FROM tags WHERE repository = $1 AND digest = $2 RETURNING name', [repository, digest]);
  await client.query('DELETE FROM manifests WHERE repository = $1 AND digest = $2', [repository, digest]);
  const target = { workspace: name.workspace, repository, package: name.image, digest };
  for (const tag of tags) await recordEvent(client, 'tag.deleted', { ...target, tag: tag.name }, origin);
  await recordEvent(client, 'manifest.deleted', target, origin);
  await recordAudit(client, origin, { action: 'manifest.deleted', workspace: name.workspace, target: { type: 'manifest', id: digest, name: repository }, before: { tags: tags.map((tag) => tag.name) } });
  return { tags: tags.map((tag) => tag.name) };
}
