import { Breadcrumbs, Layout, WorkspaceSidebar } from '../components/layout';
import { PackagesTable } from '../components/packages-table';
import { Link, paths } from '../router';
import { useApi } from '../use-api';

/** A project: its repositories and the packages linked to them. */
export function ProjectPage({ workspace, project }: { workspace: string; project: string }) {
  const { data } = useApi<'listSourceRepositories'>(`/workspaces/${encodeURIComponent(workspace)}/repositories?project=${encodeURIComponent(project)}`);
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: project }]} />
      <div className="with-sidebar">
        <WorkspaceSidebar workspace={workspace} />
        <div>
          <h1>Project {project}</h1>
          <h2>Repositories</h2>
          <ul>
            {data?.sourceRepositories.map((r) => (
              <li key={r.id}>
                <Link to={paths.repository(workspace, project, r.slug)}>{r.name || r.slug}</Link> <span className="muted">your role: {r.callerRole || 'none'}</span>
              </li>
            ))}
          </ul>
          <h2>Packages</h2>
          <PackagesTable workspace={workspace} project={project} caption={`Packages of project ${project}`} />
        </div>
      </div>
    </Layout>
  );
}
