import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import { ConfirmButton } from './confirm-button';
import { CommandLine } from './copy-button';
import { ErrorMessage } from './feedback';
import { timeAgo } from '../format';
import type { SourceRepository } from '@ocireg/web-api';
import { useApi } from '../use-api';

/**
 * A repository's tokens, for its Admins: pipelines' credentials that belong
 * to the repository (not to whoever made them) and act only on its packages.
 */
export function RepositoryTokens({ repository }: { repository: SourceRepository }) {
  const path = `/repositories/${repository.id}/tokens`;
  const { data, error, reload } = useApi<'listRepositoryTokens'>(path);
  const [created, setCreated] = useState<{ secret: string; dockerLogin: string; name: string }>();
  return (
    <section aria-labelledby="repository-tokens-title">
      <h2 id="repository-tokens-title">Repository tokens</h2>
      <p className="muted">
        Credentials for pipelines: they belong to this repository, keep working when whoever made them leaves, and pull (and, with write, push) only the packages linked to {repository.slug}.
      </p>
      <CreateRepositoryToken
        path={path}
        onCreated={(token) => {
          setCreated(token);
          reload();
        }}
      />
      {created && (
        <section className="panel" aria-labelledby="new-repository-token-title">
          <h3 id="new-repository-token-title">New repository token “{created.name}”</h3>
          <p>Copy it now: it is shown this once and stored only as a hash.</p>
          <CommandLine command={created.secret} label="Copy the repository token" />
          <p>In CI, from a secret variable:</p>
          <CommandLine command={`echo "$REGISTRY_TOKEN" | ${created.dockerLogin} --password-stdin`} label="Copy the docker login command for CI" />
        </section>
      )}
      <ErrorMessage error={error} />
      {data && data.tokens.length === 0 && <p className="muted">No repository tokens yet.</p>}
      {data && data.tokens.length > 0 && (
        <table>
          <caption>Tokens of {repository.slug}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.tokens.map((token) => {
              const expired = Date.parse(token.expiresAt) <= Date.now();
              return (
                <tr key={token.id}>
                  <td>{token.name}</td>
                  <td>{token.scopes.join(', ')}</td>
                  <td>
                    <time dateTime={token.createdAt}>{timeAgo(token.createdAt)}</time>
                    {token.createdBy && ` by ${token.createdBy}`}
                  </td>
                  <td>
                    <time dateTime={token.expiresAt}>{new Date(token.expiresAt).toLocaleDateString()}</time>
                  </td>
                  <td>{token.revokedAt ? 'revoked' : expired ? 'expired' : 'active'}</td>
                  <td>
                    {!token.revokedAt && !expired && (
                      <ConfirmButton label="Revoke" title={`Revoke the repository token ${token.name}?`} confirmLabel="Revoke token" onConfirm={() => api<'revokeRepositoryToken'>('DELETE', `${path}/${token.id}`).then(reload)}>
                        <p>Pipelines using it stop within a second.</p>
                      </ConfirmButton>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function CreateRepositoryToken({ path, onCreated }: { path: string; onCreated: (token: { secret: string; dockerLogin: string; name: string }) => void }) {
  const [name, setName] = useState('');
  const [write, setWrite] = useState(false);
  const [days, setDays] = useState('30');
  const [error, setError] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    try {
      const result = await api<'createRepositoryToken'>('POST', path, { name, write, expiresInDays: Number(days) });
      onCreated({ ...result, name });
      setName('');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <form className="panel" onSubmit={(e) => void submit(e)} aria-labelledby="create-repository-token-title">
      <h3 id="create-repository-token-title">Create a repository token</h3>
      <label>
        Token name
        <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. pipelines" />
      </label>
      <label className="check">
        <input type="checkbox" checked={write} onChange={(e) => setWrite(e.target.checked)} /> Push too (write)
      </label>
      <label>
        Token lifetime
        <select value={days} onChange={(e) => setDays(e.target.value)}>
          <option value="7">7 days</option>
          <option value="30">30 days</option>
          <option value="90">90 days</option>
          <option value="365">1 year</option>
        </select>
      </label>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary">
        Create repository token
      </button>
    </form>
  );
}
