import { ErrorMessage, Loading } from '../components/feedback';
import { Breadcrumbs, Layout } from '../components/layout';
import { formatBytes } from '../format';
import { Link, paths } from '../router';
import { useApi } from '../use-api';

/** Bytes the workspace stores (each blob once) against its quota, and per image. */
export function UsagePage({ workspace }: { workspace: string }) {
  const { data, error, loading } = useApi<'getStorageUsage'>(`/workspaces/${encodeURIComponent(workspace)}/usage`);
  const quota = data?.storageQuotaBytes ?? null;
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: 'Storage usage' }]} />
      <h1>Storage usage of {workspace}</h1>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="usage" />}
      {data && (
        <>
          <p>
            {formatBytes(data.workspaceBytes)} used{quota === null ? ' (no quota)' : ` of ${formatBytes(quota)}`}.
          </p>
          {quota !== null && (
            <p>
              <label>
                Quota used{' '}
                <meter min={0} max={quota} low={quota * 0.8} high={quota * 0.95} optimum={0} value={data.workspaceBytes}>
                  {Math.round((data.workspaceBytes / Math.max(quota, 1)) * 100)}%
                </meter>{' '}
                {Math.round((data.workspaceBytes / Math.max(quota, 1)) * 100)}%
              </label>
            </p>
          )}
          <p>
            The restore window holds {formatBytes(data.restoreWindow.bytes)} of it: {data.restoreWindow.deletions} deletions ({data.restoreWindow.manifests} manifests, {data.restoreWindow.tags} tags) that can still be{' '}
            <Link to={paths.deleted(workspace)}>restored</Link>.
          </p>
          <p className="muted">Deleting tags and images frees storage later: once their restore window ends and garbage collection finds nothing else uses it.</p>
          <table>
            <caption>Storage per image</caption>
            <thead>
              <tr>
                <th scope="col">Image</th>
                <th scope="col" className="number">
                  Stored
                </th>
              </tr>
            </thead>
            <tbody>
              {data.packages.map((r) => (
                <tr key={r.fullName}>
                  <td>{r.fullName}</td>
                  <td className="number">{formatBytes(r.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Layout>
  );
}
