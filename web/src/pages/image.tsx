import { useEffect, useState } from 'react';
import { api, imagePath } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { CommandLine, CopyButton } from '../components/copy-button';
import { LastPulled } from '../components/last-pulled';
import { ErrorMessage, IndexingNotice, Loading } from '../components/feedback';
import { Breadcrumbs, Layout } from '../components/layout';
import { EffectiveImmutableRules } from './immutable-tags';
import { Pager } from '../components/pager';
import { formatBytes, platformText, registryHost, shortDigest, timeAgo } from '../format';
import { Link, navigate, paths } from '../router';
import type { Manifest, RoleWord, TagEntry } from '@ocireg/web-api';
import { useApi } from '../use-api';
import { RecentlyDeleted } from './recently-deleted';

const mayDeleteTags = (role: RoleWord) => role === 'write' || role === 'admin';

/** An image (a package's content): its tags with digest, size, platforms and pull command, multi-arch entries, signatures and SBOMs. */
export function ImagePage({ workspace, name }: { workspace: string; name: string }) {
  const base = imagePath(workspace, name);
  const [waiting, setWaiting] = useState(false);
  const overview = useApi<'imageOverview'>(`${base}/-/overview`, waiting ? 2000 : undefined);
  useEffect(() => setWaiting(overview.data !== undefined && (overview.data.image === null || overview.data.indexing.pendingEvents > 0)), [overview.data]);
  const data = overview.data;
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs
        items={[
          { label: workspace, to: paths.workspace(workspace) },
          ...(data?.sourceRepository ? [{ label: data.sourceRepository.projectSlug, to: paths.project(workspace, data.sourceRepository.projectSlug) }, { label: data.sourceRepository.slug, to: paths.repository(workspace, data.sourceRepository.projectSlug, data.sourceRepository.slug) }] : []),
          { label: name },
        ]}
      />
      <h1>{name}</h1>
      <ErrorMessage error={overview.error} />
      {overview.loading && !data && <Loading what="the package" />}
      {data && (
        <>
          <p className="muted">
            {workspace}/{name} · linked to {data.sourceRepository ? `${data.sourceRepository.projectSlug}/${data.sourceRepository.slug}` : 'a repository'} · your role: {data.callerRole || 'none'}
            {data.image && ` · ${data.image.tagCount} tags · ${formatBytes(data.image.totalSize)}`} · <Link to={paths.retention(workspace, name)}>Retention</Link>
          </p>
          <IndexingNotice indexing={data.indexing} />
          {data.image === null ? (
            <section className="panel">
              <h2>No images yet</h2>
              <p>Nothing is listed for this package yet: push an image to it (if you just did, it shows here in a moment; this page refreshes by itself).</p>
              <CommandLine command={`docker push ${registryHost()}/${workspace}/${name}:<tag>`} label="Copy the push command" />
            </section>
          ) : (
            <Tags workspace={workspace} name={name} role={data.callerRole} />
          )}
          {mayDeleteTags(data.callerRole) && <RecentlyDeleted workspace={workspace} name={name} />}
          <section className="panel" aria-labelledby="immutable-tags-title">
            <h2 id="immutable-tags-title">Immutable tags</h2>
            <EffectiveImmutableRules workspace={workspace} name={name} />
          </section>
          {data.callerRole === 'admin' && data.image && (
            <section className="panel danger-zone" aria-labelledby="delete-image-title">
              <h2 id="delete-image-title">Delete image</h2>
              <p>Deletes every tag and manifest of {name}; the package and its link stay.</p>
              <ConfirmButton
                label="Delete image"
                className="danger"
                title={`Delete the image ${name}?`}
                confirmLabel="Delete image"
                onConfirm={async () => {
                  await api<'deleteImage'>('DELETE', base);
                  navigate(paths.workspace(workspace));
                }}
              >
                <p>
                  All {data.image.tagCount} tags and {data.image.manifestCount} manifests of {workspace}/{name} are deleted. Pulls of them fail from now on. Storage is freed later, by garbage collection, not at once.
                </p>
              </ConfirmButton>
            </section>
          )}
        </>
      )}
    </Layout>
  );
}

function Tags({ workspace, name, role }: { workspace: string; name: string; role: RoleWord }) {
  const [sort, setSort] = useState<'name' | 'last-pushed'>('last-pushed');
  const [tokens, setTokens] = useState<string[]>(['']);
  const token = tokens[tokens.length - 1] ?? '';
  const query = new URLSearchParams({ sort, page_size: '50', ...(token ? { page_token: token } : {}) });
  const { data, error, loading, reload } = useApi<'listTags'>(`${imagePath(workspace, name)}/-/tags?${query.toString()}`);
  // The listing follows deletes a moment later: a deleted tag leaves the table at once, and the list reloads shortly after.
  const [deleted, setDeleted] = useState<string[]>([]);
  const onDeleted = (tag: string) => {
    setDeleted((before) => [...before, tag]);
    setTimeout(reload, 1500);
  };
  const shown = data?.tags.filter((entry) => !deleted.includes(entry.tag)) ?? [];
  return (
    <section aria-labelledby="tags-title">
      <h2 id="tags-title">Tags</h2>
      <div className="toolbar">
        <label>
          Sort{' '}
          <select
            value={sort}
            onChange={(e) => {
              setSort(e.target.value === 'name' ? 'name' : 'last-pushed');
              setTokens(['']);
            }}
          >
            <option value="last-pushed">Last push</option>
            <option value="name">Name</option>
          </select>
        </label>
      </div>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="tags" />}
      {deleted.length > 0 && (
        <p className="muted" role="status">
          Deleted {deleted.join(', ')}. Storage is freed later, by garbage collection.
        </p>
      )}
      {data && shown.length === 0 && <p className="muted">No tags (an image pushed by digest alone has none).</p>}
      {data && shown.length > 0 && (
        <table>
          <caption>Tags of {name}</caption>
          <thead>
            <tr>
              <th scope="col">Tag</th>
              <th scope="col">Digest</th>
              <th scope="col" className="number">
                Size
              </th>
              <th scope="col">Platforms</th>
              <th scope="col">Pushed</th>
              <th scope="col">Last pulled</th>
              <th scope="col">Pull</th>
              {mayDeleteTags(role) && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {shown.map((entry) => (
              <TagRow key={entry.tag} workspace={workspace} name={name} entry={entry} role={role} onDeleted={() => onDeleted(entry.tag)} />
            ))}
          </tbody>
        </table>
      )}
      <Pager label="Tag pages" tokens={tokens} setTokens={setTokens} nextPageToken={data?.nextPageToken} />
    </section>
  );
}

function TagRow({ workspace, name, entry, role, onDeleted }: { workspace: string; name: string; entry: TagEntry; role: RoleWord; onDeleted: () => void }) {
  const pull = `docker pull ${registryHost()}/${workspace}/${name}:${entry.tag}`;
  const manifest = entry.manifest;
  return (
    <tr>
      <td>
        <Link to={paths.tag(workspace, name, entry.tag)}>{entry.tag}</Link>
        {manifest?.kind === 'index' && <span className="badge">multi-arch</span>}
        <Attached manifest={manifest} referrers={entry.referrers} />
      </td>
      <td>
        <code title={entry.digest}>{shortDigest(entry.digest)}</code>
      </td>
      <td className="number">{manifest ? formatBytes(manifest.size) : '—'}</td>
      <td>
        <Platforms manifest={manifest} />
      </td>
      <td>
        <time dateTime={entry.updatedAt} title={entry.updatedAt}>
          {timeAgo(entry.updatedAt)}
        </time>
      </td>
      <td>
        <LastPulled at={entry.lastPulledAt} />
      </td>
      <td>
        <CopyButton text={pull} label={`Copy the pull command for ${entry.tag}`} />
      </td>
      {mayDeleteTags(role) && (
        <td>
          <ConfirmButton
            label="Delete tag"
            title={`Delete tag ${entry.tag}?`}
            confirmLabel="Delete tag"
            onConfirm={async () => {
              await api<'deleteTag'>('DELETE', `${imagePath(workspace, name)}/-/tags/${encodeURIComponent(entry.tag)}`);
              onDeleted();
            }}
          >
            <p>
              {workspace}/{name}:{entry.tag} stops resolving; the manifest stays while other tags or its digest use it. Storage is freed later, by garbage collection, not at once.
            </p>
          </ConfirmButton>
        </td>
      )}
    </tr>
  );
}

/** What is attached to a tag's manifest: "signed" when a signature is about it, then the other referrers by kind (cosign's .att and .sbom tags among them). */
function Attached({ manifest, referrers }: { manifest: Manifest | null; referrers: Manifest[] }) {
  const others = new Map<string, Manifest[]>();
  for (const r of referrers) if (r.kind !== 'signature') others.set(r.kind, [...(others.get(r.kind) ?? []), r]);
  return (
    <>
      {manifest?.signed && (
        <span className="badge signed" title={`${referrers.filter((r) => r.kind === 'signature').length} signature(s)`}>
          signed
        </span>
      )}
      {[...others].map(([kind, attached]) => (
        <span key={kind} className="badge" title={attached.map((r) => r.artifactType || r.mediaType).join(', ')}>
          {kind === 'attestation' ? 'SBOM/attestation' : kind}
          {attached.length > 1 ? ` ×${attached.length}` : ''}
        </span>
      ))}
    </>
  );
}

function Platforms({ manifest }: { manifest: Manifest | null }) {
  if (!manifest) return <span className="muted">indexing…</span>;
  if (manifest.kind === 'index') {
    const images = manifest.children.filter((c) => c.kind === 'image');
    return (
      <details>
        <summary>{images.map((c) => c.platforms.map(platformText).join(', ')).join(', ') || `${manifest.children.length} entries`}</summary>
        <ul>
          {manifest.children.map((child) => (
            <li key={child.digest}>
              {child.kind === 'image' ? child.platforms.map(platformText).join(', ') || 'image' : child.kind} · <code>{shortDigest(child.digest)}</code> · {formatBytes(child.size)}
            </li>
          ))}
        </ul>
      </details>
    );
  }
  return <>{manifest.platforms.map(platformText).join(', ') || manifest.kind}</>;
}
