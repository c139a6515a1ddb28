import { useEffect } from 'react';
import { ErrorMessage, Loading } from '../components/feedback';
import { Layout } from '../components/layout';
import { Link, navigate, paths } from '../router';
import { useApi } from '../use-api';

/** The workspaces the user may see; with just one, straight to it. */
export function WorkspacesPage() {
  const { data, error, loading } = useApi<'listWorkspaces'>('/workspaces');
  useEffect(() => {
    if (data?.workspaces.length === 1) navigate(paths.workspace(data.workspaces[0]!.slug), true);
  }, [data]);
  return (
    <Layout>
      <h1>Workspaces</h1>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="workspaces" />}
      {data && data.workspaces.length === 0 && <p className="muted">You have no role in any workspace yet. A workspace admin gives you one on a repository.</p>}
      <ul className="cards">
        {data?.workspaces.map((w) => (
          <li key={w.slug}>
            <Link to={paths.workspace(w.slug)}>{w.name || w.slug}</Link> <span className="muted">{w.slug}</span>
          </li>
        ))}
      </ul>
    </Layout>
  );
}
