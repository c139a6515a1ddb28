import { useEffect, useState } from 'react';
import { formatBytes, timeAgo } from '../format';
import { Link, paths } from '../router';
import { useApi } from '../use-api';
import { ErrorMessage, IndexingNotice, Loading } from './feedback';
import { Pager } from './pager';

const PAGE_SIZE = 50;

/**
 * The packages (images) of a workspace, project or repository: name, linked
 * repository, tags, size and last push; sorted by name or last push, filtered
 * by a name prefix, a page at a time. It refreshes itself while the listing
 * catches up with recent pushes.
 */
export function PackagesTable({ workspace, project, repository, caption }: { workspace: string; project?: string; repository?: string; caption: string }) {
  const [sort, setSort] = useState<'name' | 'last-pushed'>('name');
  const [filter, setFilter] = useState('');
  const [prefix, setPrefix] = useState('');
  const [tokens, setTokens] = useState<string[]>(['']);
  const pageToken = tokens[tokens.length - 1] ?? '';

  // Filter as the user types, without a request per keystroke.
  useEffect(() => {
    const timer = setTimeout(() => {
      setPrefix(filter.trim());
      setTokens(['']);
    }, 250);
    return () => clearTimeout(timer);
  }, [filter]);

  const query = new URLSearchParams({ sort, page_size: String(PAGE_SIZE) });
  if (project) query.set('project', project);
  if (repository) query.set('sourceRepository', repository);
  if (prefix) query.set('prefix', prefix);
  if (pageToken) query.set('page_token', pageToken);
  const [catchingUp, setCatchingUp] = useState(false);
  const { data, error, loading } = useApi<'listImages'>(`/workspaces/${encodeURIComponent(workspace)}/images?${query.toString()}`, catchingUp ? 2000 : undefined);
  useEffect(() => setCatchingUp((data?.indexing.pendingEvents ?? 0) > 0), [data]);

  return (
    <section aria-label={caption}>
      <div className="toolbar">
        <label>
          Filter by name{' '}
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name starts with…" />
        </label>
        <label>
          Sort{' '}
          <select
            value={sort}
            onChange={(e) => {
              setSort(e.target.value === 'last-pushed' ? 'last-pushed' : 'name');
              setTokens(['']);
            }}
          >
            <option value="name">Name</option>
            <option value="last-pushed">Last push</option>
          </select>
        </label>
      </div>
      <IndexingNotice indexing={data?.indexing} />
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="packages" />}
      {data && data.images.length === 0 && (
        <p className="muted">{prefix ? `No package here starts with “${prefix}”.` : 'No images here yet. A package shows here a moment after its first push.'}</p>
      )}
      {data && data.images.length > 0 && (
        <table>
          <caption>{caption}</caption>
          <thead>
            <tr>
              <th scope="col">Package</th>
              <th scope="col">Repository</th>
              <th scope="col" className="number">
                Tags
              </th>
              <th scope="col" className="number">
                Size
              </th>
              <th scope="col">Last push</th>
            </tr>
          </thead>
          <tbody>
            {data.images.map((image) => (
              <tr key={image.name}>
                <td>
                  <Link to={paths.image(workspace, image.name)}>{image.name}</Link>
                </td>
                <td>{image.sourceRepositorySlug ? <Link to={paths.repository(workspace, image.projectSlug, image.sourceRepositorySlug)}>{`${image.projectSlug}/${image.sourceRepositorySlug}`}</Link> : '—'}</td>
                <td className="number">{image.tagCount}</td>
                <td className="number">{formatBytes(image.totalSize)}</td>
                <td>
                  <time dateTime={image.lastPushedAt} title={image.lastPushedAt}>
                    {timeAgo(image.lastPushedAt)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager label={`${caption} pages`} tokens={tokens} setTokens={setTokens} nextPageToken={data?.nextPageToken} />
    </section>
  );
}
