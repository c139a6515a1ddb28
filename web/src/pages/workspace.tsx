import { useState, type FormEvent } from 'react';
import type { ApiResponse } from '@ocireg/web-api';
import { api, ApiError } from '../api';
import { CommandLine } from '../components/copy-button';
import { ErrorMessage } from '../components/feedback';
import { Breadcrumbs, Layout, WorkspaceSidebar } from '../components/layout';
import { PackagesTable } from '../components/packages-table';
import { Link, paths } from '../router';
import { useApi } from '../use-api';

/** A workspace: all its packages, its projects and repositories aside; admins may invite people. */
export function WorkspacePage({ workspace }: { workspace: string }) {
  const { data, error } = useApi<'getWorkspace'>(`/workspaces/${encodeURIComponent(workspace)}`);
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: 'Workspaces', to: '/' }, { label: data?.workspace.name || workspace }]} />
      <div className="with-sidebar">
        <WorkspaceSidebar workspace={workspace} />
        <div>
          <h1>Packages in {data?.workspace.name || workspace}</h1>
          <ErrorMessage error={error} />
          {!error && <PackagesTable workspace={workspace} caption={`Packages of workspace ${workspace}`} />}
          {data?.callerIsAdmin && <InviteForm workspace={workspace} />}
          {data?.callerIsAdmin && (
            <p>
              <Link to={paths.automation(workspace)}>Automation: service accounts and CI identities</Link>
            </p>
          )}
        </div>
      </div>
    </Layout>
  );
}

/** Workspace admins invite people: the link sets their password (single use, expires). */
function InviteForm({ workspace }: { workspace: string }) {
  const [email, setEmail] = useState('');
  const [link, setLink] = useState<ApiResponse<'createInvitation'>>();
  const [error, setError] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    try {
      setLink(await api<'createInvitation'>('POST', '/invitations', { email, workspace }));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <section className="panel" aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <form className="inline" onSubmit={(e) => void submit(e)}>
        <label>
          Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <button type="submit">Create invitation link</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {link && (
        <>
          <p>Send this link to {email}; it works once, until {new Date(link.expiresAt).toLocaleString()}. Then give them a role on a repository.</p>
          <CommandLine command={link.url} label="Copy the invitation link" />
        </>
      )}
    </section>
  );
}
