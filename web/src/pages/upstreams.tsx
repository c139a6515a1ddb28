import { useState, type FormEvent } from 'react';
import type { Upstream } from '@ocireg/web-api';
import { api, ApiError } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { CommandLine } from '../components/copy-button';
import { ErrorMessage, Loading } from '../components/feedback';
import { Breadcrumbs, Layout } from '../components/layout';
import { paths } from '../router';
import { useApi } from '../use-api';

/**
 * A workspace's upstream registries (pull-through cache, docs/pull-through.md):
 * what each serves and how to pull through it; workspace admins add and remove them.
 */
export function UpstreamsPage({ workspace }: { workspace: string }) {
  const base = `/workspaces/${encodeURIComponent(workspace)}`;
  const { data, error, loading, reload } = useApi<'listUpstreams'>(`${base}/upstreams`);
  const { data: ws } = useApi<'getWorkspace'>(base);
  const host = location.host;
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: 'Upstream registries' }]} />
      <h1>Upstream registries of {workspace}</h1>
      <p className="muted">Images of an upstream are pulled through this registry and kept here: a cached tag is still served when the upstream is down.</p>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="upstreams" />}
      {data && data.upstreams.length === 0 && <p>No upstream registries yet.</p>}
      {data && data.upstreams.length > 0 && (
        <table>
          <caption>Upstream registries</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">URL</th>
              <th scope="col">Credentials</th>
              <th scope="col">Repositories</th>
              <th scope="col" className="number">
                Tag TTL
              </th>
              <th scope="col">Pull with</th>
              {ws?.callerIsAdmin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {data.upstreams.map((u) => (
              <UpstreamRow key={u.name} upstream={u} host={host} admin={ws?.callerIsAdmin ?? false} onDeleted={reload} />
            ))}
          </tbody>
        </table>
      )}
      {ws?.callerIsAdmin && <CreateUpstreamForm workspace={workspace} onCreated={reload} />}
    </Layout>
  );
}

function UpstreamRow({ upstream: u, host, admin, onDeleted }: { upstream: Upstream; host: string; admin: boolean; onDeleted: () => void }) {
  const example = `${host}/${u.workspaceSlug}/${u.name}/${u.namespaces[0] ?? 'library'}/<image>:<tag>`;
  return (
    <tr>
      <td>{u.name}</td>
      <td>{u.url}</td>
      <td>{u.username ? `${u.username}${u.hasPassword ? ' (password stored)' : ''}` : 'anonymous'}</td>
      <td>{u.namespaces.length > 0 ? u.namespaces.join(', ') : 'all'}</td>
      <td className="number">{u.tagTtlSeconds} s</td>
      <td>
        <CommandLine command={`docker pull ${example}`} label={`Copy the pull command of upstream ${u.name}`} />
      </td>
      {admin && (
        <td>
          <ConfirmButton
            label={`Remove ${u.name}`}
            title={`Remove upstream ${u.name}`}
            confirmLabel="Remove"
            onConfirm={async () => {
              await api<'deleteUpstream'>('DELETE', `/workspaces/${encodeURIComponent(u.workspaceSlug)}/upstreams/${encodeURIComponent(u.name)}`);
              onDeleted();
            }}
          >
            <p>What it cached stays, as packages of the workspace.</p>
          </ConfirmButton>
        </td>
      )}
    </tr>
  );
}

/** Workspace admins add an upstream; its password is sent once and never shown again. */
function CreateUpstreamForm({ workspace, onCreated }: { workspace: string; onCreated: () => void }) {
  const { data: repositories } = useApi<'listSourceRepositories'>(`/workspaces/${encodeURIComponent(workspace)}/repositories`);
  const empty = { name: '', url: '', username: '', password: '', sourceRepositoryId: '', namespaces: '' };
  const [form, setForm] = useState(empty);
  const [error, setError] = useState('');
  const set = (field: keyof typeof empty) => (event: { target: { value: string } }) => setForm({ ...form, [field]: event.target.value });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    try {
      const namespaces = form.namespaces.split(',').map((n) => n.trim()).filter(Boolean);
      await api<'createUpstream'>('POST', `/workspaces/${encodeURIComponent(workspace)}/upstreams`, { ...form, namespaces });
      setForm(empty);
      onCreated();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <section className="panel" aria-labelledby="add-upstream-title">
      <h2 id="add-upstream-title">Add an upstream registry</h2>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Name (the path segment after {workspace}/)
          <input required value={form.name} onChange={set('name')} pattern="[a-z0-9]+(-[a-z0-9]+)*" />
        </label>
        <label>
          URL
          <input type="url" required value={form.url} onChange={set('url')} placeholder="https://registry-1.docker.io" />
        </label>
        <label>
          Username
          <input value={form.username} onChange={set('username')} autoComplete="off" />
        </label>
        <label>
          Password or token
          <input type="password" value={form.password} onChange={set('password')} autoComplete="new-password" />
        </label>
        <label>
          Repository whose members may pull through it
          <select required value={form.sourceRepositoryId} onChange={set('sourceRepositoryId')}>
            <option value="">Choose a repository</option>
            {repositories?.sourceRepositories.map((r) => (
              <option key={r.id} value={r.id}>
                {r.projectSlug}/{r.slug}
              </option>
            ))}
          </select>
        </label>
        <label>
          Upstream repositories served (comma-separated prefixes; empty: all)
          <input value={form.namespaces} onChange={set('namespaces')} placeholder="library" />
        </label>
        <button type="submit">Add upstream</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
