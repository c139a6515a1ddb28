import { useState, type FormEvent } from 'react';
import type { ServiceAccount } from '@ocireg/web-api';
import { api, ApiError } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { CommandLine } from '../components/copy-button';
import { ErrorMessage } from '../components/feedback';
import { Breadcrumbs, Layout, WorkspaceSidebar } from '../components/layout';
import { TrustedIssuers } from '../components/trusted-issuers';
import { paths } from '../router';
import { useApi } from '../use-api';

/** A workspace's automation, for its admins: service accounts and their tokens, and the CI issuers it trusts. */
export function AutomationPage({ workspace }: { workspace: string }) {
  const base = `/workspaces/${encodeURIComponent(workspace)}/service-accounts`;
  const { data, error, reload } = useApi<'listServiceAccounts'>(base);
  return (
    <Layout workspace={workspace}>
      <Breadcrumbs items={[{ label: workspace, to: paths.workspace(workspace) }, { label: 'Automation' }]} />
      <div className="with-sidebar">
        <WorkspaceSidebar workspace={workspace} />
        <div>
          <h1>Automation in {workspace}</h1>
          <ErrorMessage error={error} />
          <section aria-labelledby="service-accounts-title">
            <h2 id="service-accounts-title">Service accounts</h2>
            <p className="muted">Accounts for this workspace's automation: no person, no password. Give one a role on a repository by its login name, then a token.</p>
            <CreateServiceAccount base={base} onCreated={reload} />
            {data && data.serviceAccounts.length === 0 && <p className="muted">No service accounts yet.</p>}
            {data?.serviceAccounts.map((account) => <ServiceAccountPanel key={account.id} base={base} account={account} onDeleted={reload} />)}
          </section>
          <TrustedIssuers workspace={workspace} />
        </div>
      </div>
    </Layout>
  );
}

function CreateServiceAccount({ base, onCreated }: { base: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    try {
      await api<'createServiceAccount'>('POST', base, { name, displayName: '' });
      setName('');
      onCreated();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <form className="inline" onSubmit={(e) => void submit(e)}>
      <label>
        Account name
        <input required maxLength={40} pattern="[a-z0-9]+(-[a-z0-9]+)*" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. deployer" />
      </label>
      <button type="submit">Create service account</button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function ServiceAccountPanel({ base, account, onDeleted }: { base: string; account: ServiceAccount; onDeleted: () => void }) {
  const path = `${base}/${account.id}/tokens`;
  const { data, error, reload } = useApi<'listServiceAccountTokens'>(path);
  const [created, setCreated] = useState<{ secret: string; dockerLogin: string }>();
  const [write, setWrite] = useState(false);
  const [problem, setProblem] = useState('');
  const create = async (event: FormEvent) => {
    event.preventDefault();
    setProblem('');
    try {
      const scopes = write ? ['read:package', 'write:package'] : ['read:package'];
      setCreated(await api<'createServiceAccountToken'>('POST', path, { name: 'token', scopes, expiresInDays: 30 }));
      reload();
    } catch (err) {
      setProblem(err instanceof ApiError ? err.message : String(err));
    }
  };
  const titleId = `service-account-${account.id}`;
  return (
    <section className="panel" aria-labelledby={titleId}>
      <h3 id={titleId}>{account.name}</h3>
      <p>
        Login name: <code>{account.loginName}</code>
      </p>
      <ErrorMessage error={error} />
      {data && (
        <ul>
          {data.tokens.map((token) => (
            <li key={token.id}>
              {token.name} ({token.scopes.join(', ')}) · {token.revokedAt ? 'revoked' : `expires ${new Date(token.expiresAt).toLocaleDateString()}`}
              {!token.revokedAt && (
                <ConfirmButton label="Revoke" title={`Revoke this token of ${account.name}?`} confirmLabel="Revoke token" onConfirm={() => api<'revokeServiceAccountToken'>('DELETE', `${path}/${token.id}`).then(reload)}>
                  <p>It stops working everywhere within a second.</p>
                </ConfirmButton>
              )}
            </li>
          ))}
        </ul>
      )}
      <form className="inline" onSubmit={(e) => void create(e)}>
        <label className="check">
          <input type="checkbox" checked={write} onChange={(e) => setWrite(e.target.checked)} /> Push too (write)
        </label>
        <button type="submit">Create a token for {account.name}</button>
      </form>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {created && (
        <>
          <p>Copy it now: it is shown this once.</p>
          <CommandLine command={created.secret} label={`Copy the token of ${account.name}`} />
          <CommandLine command={`echo "$REGISTRY_TOKEN" | ${created.dockerLogin} --password-stdin`} label="Copy the docker login command for CI" />
        </>
      )}
      <ConfirmButton label={`Delete ${account.name}`} title={`Delete the service account ${account.name}?`} confirmLabel="Delete service account" onConfirm={() => api<'deleteServiceAccount'>('DELETE', `${base}/${account.id}`).then(onDeleted)}>
        <p>Its tokens stop working everywhere within a second.</p>
      </ConfirmButton>
    </section>
  );
}
