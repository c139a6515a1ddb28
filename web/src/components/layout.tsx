import type { ReactNode } from 'react';
import { Link, paths } from '../router';
import { useSession } from '../session';
import type { SourceRepository } from '@ocireg/web-api';
import { useApi } from '../use-api';

/** The top navigation (Packages, Create › Package where the user may, API tokens, sign-out) around a page. */
export function Layout({ workspace, children }: { workspace?: string; children: ReactNode }) {
  const { session, signOut } = useSession();
  const repositories = useApi<'listSourceRepositories'>(workspace ? `/workspaces/${encodeURIComponent(workspace)}/repositories` : null);
  const mayCreate = repositories.data?.sourceRepositories.some((r) => r.callerRole === 'admin') ?? false;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <nav aria-label="Main">
          <Link to="/" className="brand">
            ocireg
          </Link>
          {workspace && <Link to={paths.workspace(workspace)}>Packages</Link>}
          {workspace && mayCreate && <Link to={paths.createPackage(workspace)}>Create package</Link>}
          <Link to={paths.tokens()}>API tokens</Link>
          {session.user.operator && <Link to={paths.audit()}>Audit log</Link>}
        </nav>
        <div className="user">
          <span>{session.user.email}</span>
          <button type="button" className="small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">{children}</main>
    </>
  );
}

/** Where a page is: workspace › project › repository › image › tag. */
export function Breadcrumbs({ items }: { items: Array<{ label: string; to?: string }> }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumbs">
      <ol>
        {items.map((item, index) => (
          <li key={`${item.label}-${index}`}>{item.to && index < items.length - 1 ? <Link to={item.to}>{item.label}</Link> : <span aria-current="page">{item.label}</span>}</li>
        ))}
      </ol>
    </nav>
  );
}

/** The workspace's projects and repositories, each linking to its packages. */
export function WorkspaceSidebar({ workspace }: { workspace: string }) {
  const { data } = useApi<'listSourceRepositories'>(`/workspaces/${encodeURIComponent(workspace)}/repositories`);
  const byProject = new Map<string, SourceRepository[]>();
  for (const repository of data?.sourceRepositories ?? []) byProject.set(repository.projectSlug, [...(byProject.get(repository.projectSlug) ?? []), repository]);
  return (
    <nav className="sidebar" aria-label="Projects and repositories">
      <h2>Projects</h2>
      <ul>
        {[...byProject.entries()].map(([project, repositories]) => (
          <li key={project}>
            <Link to={paths.project(workspace, project)}>{project}</Link>
            <ul>
              {repositories.map((r) => (
                <li key={r.id}>
                  <Link to={paths.repository(workspace, project, r.slug)}>{r.slug}</Link>
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
      <p>
        <Link to={paths.usage(workspace)}>Storage usage</Link>
      </p>
      <p>
        <Link to={paths.deleted(workspace)}>Recently deleted</Link>
      </p>
      <p>
        <Link to={paths.upstreams(workspace)}>Upstream registries</Link>
      </p>
      <p>
        <Link to={paths.replication(workspace)}>Replication</Link>
      </p>
      <p>
        <Link to={paths.immutableTags(workspace)}>Immutable tags</Link>
      </p>
      <p>
        <Link to={paths.webhooks(workspace)}>Webhooks</Link>
      </p>
      <p>
        <Link to={paths.audit(workspace)}>Audit log</Link>
      </p>
    </nav>
  );
}
