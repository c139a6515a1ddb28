import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorMessage } from '../components/feedback';
import { Breadcrumbs, Layout, WorkspaceSidebar } from '../components/layout';
import { PackagesTable } from '../components/packages-table';
import { RepositoryTokens } from '../components/repository-tokens';
import { paths } from '../router';
import type { ApiBody, SourceRepository } from '@ocireg/web-api';
import { useApi } from '../use-api';

/** A repository: the packages linked to it, its members with their roles (its Admins edit them), and its tokens (for its Admins). */
export function RepositoryPage({ workspace, project, repository }: { workspace: string; project: string; repository: string }) {
  const { data, error } = useApi<'getSourceRepository'>(`/workspaces/${encodeURIComponent(workspace)}/repositories/${encodeURIComponent(repository)}?project=${encodeURIComponent(project)}`);
  const found = data?.sourceRepository;
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: project, to: paths.project(workspace, project) }, { label: repository }]} />
      <div className="with-sidebar">
        <WorkspaceSidebar workspace={workspace} />
        <div>
          <h1>Repository {found?.name || repository}</h1>
          <ErrorMessage error={error} />
          {found && (
            <>
              <p className="muted">
                {project}/{repository} · your role: {found.callerRole || 'none'}
              </p>
              <h2>Packages</h2>
              <PackagesTable workspace={workspace} project={project} repository={repository} caption={`Packages linked to ${project}/${repository}`} />
              <Members repository={found} />
              {found.callerRole === 'admin' && <RepositoryTokens repository={found} />}
            </>
          )}
        </div>
      </div>
    </Layout>
  );
}

type MemberRole = ApiBody<'setMember'>['role'];
const memberRole = (value: string): MemberRole => (value === 'admin' || value === 'write' ? value : 'read');

function Members({ repository }: { repository: SourceRepository }) {
  const path = `/repositories/${repository.id}/members`;
  const { data, error, reload } = useApi<'listMembers'>(path);
  const isAdmin = repository.callerRole === 'admin';
  const [problem, setProblem] = useState('');
  const act = async (work: () => Promise<unknown>) => {
    setProblem('');
    try {
      await work();
      reload();
    } catch (err) {
      setProblem(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members and roles</h2>
      <p className="muted">Packages linked to this repository inherit these roles: Read pulls, Write also pushes and deletes tags, Admin also creates packages and deletes images.</p>
      <ErrorMessage error={error} />
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {data && (
        <table>
          <caption>Members of {repository.slug}</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              {isAdmin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {data.members.map((m) => (
              <tr key={m.userId}>
                <td>{m.email || m.userId}</td>
                <td>
                  {isAdmin ? (
                    <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => void act(() => api<'setMember'>('PUT', path, { user: m.userId, role: memberRole(e.target.value) }))}>
                      <option value="read">Read</option>
                      <option value="write">Write</option>
                      <option value="admin">Admin</option>
                    </select>
                  ) : (
                    m.role
                  )}
                </td>
                {isAdmin && (
                  <td>
                    <ConfirmButton label="Remove" title={`Remove ${m.email}?`} confirmLabel="Remove member" onConfirm={() => api<'removeMember'>('DELETE', `${path}/${m.userId}`).then(reload)}>
                      <p>{m.email} loses this role on every package linked to the repository.</p>
                    </ConfirmButton>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {isAdmin && <AddMember onAdd={(user, role) => act(() => api<'setMember'>('PUT', path, { user, role }))} />}
    </section>
  );
}

function AddMember({ onAdd }: { onAdd: (user: string, role: MemberRole) => Promise<void> }) {
  const [user, setUser] = useState('');
  const [role, setRole] = useState<MemberRole>('read');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await onAdd(user, role);
    setUser('');
  };
  return (
    <form className="inline" onSubmit={(e) => void submit(e)}>
      <label>
        Email
        <input type="email" required value={user} onChange={(e) => setUser(e.target.value)} />
      </label>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(memberRole(e.target.value))}>
          <option value="read">Read</option>
          <option value="write">Write</option>
          <option value="admin">Admin</option>
        </select>
      </label>
      <button type="submit">Add member</button>
    </form>
  );
}
