import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { CommandLine } from '../components/copy-button';
import { ErrorMessage, Loading } from '../components/feedback';
import { Layout } from '../components/layout';
import { registryHost, timeAgo } from '../format';
import { useSession } from '../session';
import { useApi } from '../use-api';

/** My API tokens: create (shown once, with the docker login line), list, revoke. */
export function TokensPage() {
  const { session } = useSession();
  const { data, error, loading, reload } = useApi<'listTokens'>('/tokens');
  const [created, setCreated] = useState<{ secret: string; dockerLogin: string; name: string }>();
  return (
    <Layout>
      <h1>API tokens</h1>
      <p>An API token is the password of docker login (and of scripts calling the API) for {session.user.email}. What it may do is its scopes and your roles together.</p>
      <CreateToken
        onCreated={(token) => {
          setCreated(token);
          reload();
        }}
      />
      {created && (
        <section className="panel" aria-labelledby="new-token-title">
          <h2 id="new-token-title">Your new token “{created.name}”</h2>
          <p>Copy it now: it is shown this once and stored only as a hash.</p>
          <CommandLine command={created.secret} label="Copy the token" />
          <p>Log in with it (the token is the password):</p>
          <CommandLine command={created.dockerLogin} label="Copy the docker login command" />
          <p>In CI, from a secret variable:</p>
          <CommandLine command={`echo "$REGISTRY_TOKEN" | ${created.dockerLogin} --password-stdin`} label="Copy the docker login command for CI" />
        </section>
      )}
      <h2>Your tokens</h2>
      <ErrorMessage error={error} />
      {loading && !data && <Loading what="tokens" />}
      {data && data.tokens.length === 0 && <p className="muted">No tokens yet.</p>}
      {data && data.tokens.length > 0 && (
        <table>
          <caption>API tokens of {session.user.email}</caption>
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
                  </td>
                  <td>
                    <time dateTime={token.expiresAt}>{new Date(token.expiresAt).toLocaleDateString()}</time>
                  </td>
                  <td>{token.revokedAt ? 'revoked' : expired ? 'expired' : 'active'}</td>
                  <td>
                    {!token.revokedAt && !expired && (
                      <ConfirmButton label="Revoke" title={`Revoke the token ${token.name}?`} confirmLabel="Revoke token" onConfirm={() => api<'revokeToken'>('DELETE', `/tokens/${token.id}`).then(reload)}>
                        <p>It stops working everywhere within a second, with every token created from it.</p>
                      </ConfirmButton>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

function CreateToken({ onCreated }: { onCreated: (token: { secret: string; dockerLogin: string; name: string }) => void }) {
  const [name, setName] = useState('');
  const [write, setWrite] = useState(false);
  const [days, setDays] = useState('30');
  const [error, setError] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    try {
      const scopes = write ? ['read:package', 'write:package'] : ['read:package'];
      const result = await api<'createToken'>('POST', '/tokens', { name, scopes, expiresInDays: Number(days) });
      onCreated({ ...result, name });
      setName('');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <form className="panel" onSubmit={(e) => void submit(e)} aria-labelledby="create-token-title">
      <h2 id="create-token-title">Create a token</h2>
      <label>
        Name
        <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. laptop, ci-deploy" />
      </label>
      <fieldset>
        <legend>Scopes</legend>
        <label className="check">
          <input type="checkbox" checked disabled /> Read packages (pull)
        </label>
        <label className="check">
          <input type="checkbox" checked={write} onChange={(e) => setWrite(e.target.checked)} /> Write packages (push, delete tags)
        </label>
      </fieldset>
      <label>
        Expires in
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
        Create token
      </button>
      <p className="muted">
        Use it with: <code>docker login --username &lt;email&gt; {registryHost()}</code>
      </p>
    </form>
  );
}
