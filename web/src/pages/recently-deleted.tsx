import { useState } from 'react';
import type { Deletion } from '@ocireg/web-api';
import { api, ApiError, imagePath } from '../api';
import { ErrorMessage, Loading } from '../components/feedback';
import { Breadcrumbs, Layout } from '../components/layout';
import { formatBytes, shortDigest, timeAgo } from '../format';
import { Link, paths } from '../router';
import { useApi } from '../use-api';

/** A workspace's recently deleted tags and images (workspace admins), restorable until their window ends. */
export function RecentlyDeletedPage({ workspace }: { workspace: string }) {
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: 'Recently deleted' }]} />
      <h1>Recently deleted in {workspace}</h1>
      <RecentlyDeleted workspace={workspace} headingLevel={2} />
    </Layout>
  );
}

/**
 * Deletions still in the restore window: of one package (on its page, for
 * who may delete in it) or of the whole workspace; each can be restored.
 */
export function RecentlyDeleted({ workspace, name, headingLevel = 2 }: { workspace: string; name?: string; headingLevel?: 2 | 3 }) {
  const path = name ? `${imagePath(workspace, name)}/-/deleted` : `/workspaces/${encodeURIComponent(workspace)}/deleted`;
  const listed = useApi<'listWorkspaceDeleted'>(path);
  const [done, setDone] = useState('');
  const [failed, setFailed] = useState('');
  const [busy, setBusy] = useState('');
  const Heading = headingLevel === 2 ? 'h2' : 'h3';

  const restore = async (deletion: Deletion) => {
    setBusy(deletion.id);
    setDone('');
    setFailed('');
    try {
      const restored = await api<'restoreDeletion'>('POST', `/workspaces/${encodeURIComponent(workspace)}/deleted/${encodeURIComponent(deletion.id)}/restore`);
      const what = [restored.restoredTags.length > 0 ? `tags ${restored.restoredTags.join(', ')}` : '', restored.restoredManifests.length > 0 ? `${restored.restoredManifests.length} manifest(s)` : ''].filter(Boolean).join(' and ');
      setDone(`Restored ${what || 'nothing new (already back)'} in ${deletion.fullName}. Listings show them again in a moment.`);
      listed.reload();
    } catch (err) {
      setFailed(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    } finally {
      setBusy('');
    }
  };

  const data = listed.data;
  const days = data ? Math.round((data.restoreWindowSeconds / 86400) * 10) / 10 : 0;
  return (
    <section className="panel" aria-labelledby="recently-deleted-title">
      <Heading id="recently-deleted-title">Recently deleted</Heading>
      <ErrorMessage error={listed.error} />
      {listed.loading && !data && <Loading what="recently deleted" />}
      {done && (
        <p role="status">
          {done}
        </p>
      )}
      {failed && (
        <p role="alert" className="error">
          {failed}
        </p>
      )}
      {data && data.restoreWindowSeconds === 0 && <p className="muted">Deletes are final here: the restore window is off.</p>}
      {data && data.restoreWindowSeconds > 0 && data.deletions.length === 0 && <p className="muted">Nothing was deleted in the last {days} days.</p>}
      {data && data.deletions.length > 0 && (
        <table>
          <caption>Deleted tags and images, restorable for {days} days after their deletion</caption>
          <thead>
            <tr>
              <th scope="col">What</th>
              <th scope="col">Deleted</th>
              <th scope="col">By</th>
              <th scope="col" className="number">
                Holds
              </th>
              <th scope="col">Restorable until</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.deletions.map((d) => (
              <tr key={d.id}>
                <td>
                  {!name && (
                    <>
                      <Link to={paths.image(workspace, d.fullName.slice(workspace.length + 1))}>{d.fullName}</Link>:{' '}
                    </>
                  )}
                  {describe(d)}
                </td>
                <td title={d.deletedAt}>{timeAgo(d.deletedAt)}</td>
                <td>{d.actorEmail || d.actorService || d.actorUserId || '—'}</td>
                <td className="number">{formatBytes(d.bytes)}</td>
                <td>{new Date(d.restorableUntil).toLocaleString()}</td>
                <td>
                  <button type="button" className="small" disabled={busy !== ''} onClick={() => void restore(d)} aria-label={`Restore ${d.fullName}: ${describe(d)}`}>
                    {busy === d.id ? 'Restoring…' : 'Restore'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function describe(d: Deletion): string {
  const tags = d.tags.map((t) => t.tag).join(', ');
  if (d.kind === 'tag') return `tag ${tags} (${d.tags[0] ? shortDigest(d.tags[0].digest) : ''})`;
  const manifests = d.manifests.length === 1 ? shortDigest(d.manifests[0]!.digest) : `${d.manifests.length} manifests`;
  return `${d.kind === 'image' ? 'image' : 'manifest'} ${manifests}${tags ? ` with tags ${tags}` : ''}`;
}
