import { useState, type FormEvent } from 'react';
import type { ReplicationJob, ReplicationTarget } from '@ocireg/web-api';
import { api, ApiError } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { ErrorMessage, Loading } from '../components/feedback';
import { Breadcrumbs, Layout } from '../components/layout';
import { shortDigest, timeAgo } from '../format';
import { paths } from '../router';
import { useApi } from '../use-api';

/**
 * A workspace's replication targets (docs/replication.md): where its new
 * tags are pushed, how that went (counts and recent jobs with their last
 * error); workspace admins add and remove targets and retry failed jobs.
 */
export function ReplicationPage({ workspace }: { workspace: string }) {
  const base = `/workspaces/${encodeURIComponent(workspace)}`;
  const { data, error, loading, reload } = useApi<'listReplicationTargets'>(`${base}/replication-targets`, 5000);
  const { data: ws } = useApi<'getWorkspace'>(base);
  const admin = ws?.callerIsAdmin ?? false;
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: 'Replication' }]} />
      <h1>Replication of {workspace}</h1>
      <p className="muted">Every tag pushed or moved in a matching package is pushed to each target, blobs first and the tag last; failures are retried with backoff.</p>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="replication targets" />}
      {data && data.targets.length === 0 && <p>No replication targets yet.</p>}
      {data && data.targets.length > 0 && (
        <table>
          <caption>Replication targets</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">URL</th>
              <th scope="col">Credentials</th>
              <th scope="col">Packages</th>
              <th scope="col">Destination</th>
              <th scope="col">Status</th>
              {admin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {data.targets.map((t) => (
              <TargetRow key={t.name} target={t} admin={admin} onDeleted={reload} />
            ))}
          </tbody>
        </table>
      )}
      {data?.targets.map((t) => <RecentJobs key={t.name} target={t} admin={admin} onRetried={reload} />)}
      {admin && <CreateTargetForm workspace={workspace} onCreated={reload} />}
    </Layout>
  );
}

function TargetRow({ target: t, admin, onDeleted }: { target: ReplicationTarget; admin: boolean; onDeleted: () => void }) {
  return (
    <tr>
      <td>{t.name}</td>
      <td>{t.url}</td>
      <td>{t.username ? `${t.username}${t.hasPassword ? ' (password stored)' : ''}` : 'anonymous'}</td>
      <td>
        <code>{t.packagePattern}</code>
      </td>
      <td>{t.destinationPrefix ? `${t.destinationPrefix}/<package>` : '<package>'}</td>
      <td>
        {t.enabled ? '' : 'disabled · '}
        {t.counts.pending} pending · {t.counts.succeeded} succeeded · {t.counts.failed} failed
      </td>
      {admin && (
        <td>
          <ConfirmButton
            label={`Remove ${t.name}`}
            title={`Remove replication target ${t.name}`}
            confirmLabel="Remove"
            onConfirm={async () => {
              await api<'deleteReplicationTarget'>('DELETE', `/workspaces/${encodeURIComponent(t.workspaceSlug)}/replication-targets/${encodeURIComponent(t.name)}`);
              onDeleted();
            }}
          >
            <p>Its jobs go with it; what it already received stays on the target.</p>
          </ConfirmButton>
        </td>
      )}
    </tr>
  );
}

/** A target's recent jobs, newest first, with a retry for failed ones (workspace admins). */
function RecentJobs({ target, admin, onRetried }: { target: ReplicationTarget; admin: boolean; onRetried: () => void }) {
  const path = `/workspaces/${encodeURIComponent(target.workspaceSlug)}/replication-targets/${encodeURIComponent(target.name)}/jobs`;
  const { data, error, reload } = useApi<'listReplications'>(`${path}?limit=20`, 5000);
  const [retryError, setRetryError] = useState('');
  const retry = async (job: ReplicationJob) => {
    setRetryError('');
    try {
      await api<'retryReplication'>('POST', `${path}/${encodeURIComponent(job.id)}/retry`);
      reload();
      onRetried();
    } catch (err) {
      setRetryError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <section className="panel" aria-labelledby={`jobs-${target.name}`}>
      <h2 id={`jobs-${target.name}`}>Recent jobs of {target.name}</h2>
      <ErrorMessage error={error} />
      {data && data.jobs.length === 0 && <p>No tags replicated yet.</p>}
      {data && data.jobs.length > 0 && (
        <table>
          <caption>Recent jobs of {target.name}</caption>
          <thead>
            <tr>
              <th scope="col">Tag</th>
              <th scope="col">Digest</th>
              <th scope="col">State</th>
              <th scope="col" className="number">
                Attempts
              </th>
              <th scope="col">Last error</th>
              <th scope="col">Updated</th>
              {admin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {data.jobs.map((j) => (
              <tr key={j.id}>
                <td>
                  {j.repository}:{j.tag} → {j.destinationRepository}:{j.tag}
                </td>
                <td title={j.digest}>
                  <code>{shortDigest(j.digest)}</code>
                </td>
                <td>{j.state === 'pending' && j.attempts > 0 ? `retrying (next ${timeAgo(j.nextAttemptAt)})` : j.state}</td>
                <td className="number">{j.attempts}</td>
                <td>{j.lastError}</td>
                <td title={j.updatedAt}>{timeAgo(j.updatedAt)}</td>
                {admin && <td>{(j.state === 'failed' || j.state === 'pending') && <button type="button" onClick={() => void retry(j)} aria-label={`Retry ${j.repository}:${j.tag} to ${target.name}`}>Retry</button>}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {retryError && (
        <p className="error" role="alert">
          {retryError}
        </p>
      )}
    </section>
  );
}

/** Workspace admins add a target; its password is sent once and never shown again. */
function CreateTargetForm({ workspace, onCreated }: { workspace: string; onCreated: () => void }) {
  const empty = { name: '', url: '', username: '', password: '', packagePattern: '*', destinationPrefix: '' };
  const [form, setForm] = useState(empty);
  const [error, setError] = useState('');
  const set = (field: keyof typeof empty) => (event: { target: { value: string } }) => setForm({ ...form, [field]: event.target.value });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    try {
      await api<'createReplicationTarget'>('POST', `/workspaces/${encodeURIComponent(workspace)}/replication-targets`, form);
      setForm(empty);
      onCreated();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <section className="panel" aria-labelledby="add-target-title">
      <h2 id="add-target-title">Add a replication target</h2>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Name
          <input required value={form.name} onChange={set('name')} pattern="[a-z0-9]+(-[a-z0-9]+)*" />
        </label>
        <label>
          URL of the target registry
          <input type="url" required value={form.url} onChange={set('url')} placeholder="https://registry.example.com" />
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
          Packages (a glob over names without {workspace}/, e.g. team/*)
          <input required value={form.packagePattern} onChange={set('packagePattern')} />
        </label>
        <label>
          Repository prefix on the target (empty: the package name alone)
          <input value={form.destinationPrefix} onChange={set('destinationPrefix')} placeholder="mirror" />
        </label>
        <button type="submit">Add target</button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
