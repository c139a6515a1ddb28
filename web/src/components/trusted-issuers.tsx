import { useState, type FormEvent } from 'react';
import type { ApiBody } from '@ocireg/web-api';
import { api, ApiError } from '../api';
import { ConfirmButton } from './confirm-button';
import { CommandLine } from './copy-button';
import { ErrorMessage } from './feedback';
import { registryHost } from '../format';
import { useApi } from '../use-api';

type Kind = ApiBody<'createTrustedIssuer'>['kind'];
const KINDS: Array<{ value: NonNullable<Kind>; label: string }> = [
  { value: 'github-actions', label: 'GitHub Actions' },
  { value: 'gitlab-ci', label: 'GitLab CI' },
  { value: 'bitbucket-pipelines', label: 'Bitbucket Pipelines' },
  { value: 'custom', label: 'Any OIDC issuer (URL and JWKS)' },
];

/** CI identities: issuers whose jobs' ID tokens log in as the source repository their claims name (workspace admins). */
export function TrustedIssuers({ workspace }: { workspace: string }) {
  const base = `/workspaces/${encodeURIComponent(workspace)}/trusted-issuers`;
  const { data, error, reload } = useApi<'listTrustedIssuers'>(base);
  return (
    <section aria-labelledby="trusted-issuers-title">
      <h2 id="trusted-issuers-title">CI identities (trusted issuers)</h2>
      <p className="muted">A job whose ID token comes from a trusted issuer, with this registry as its audience, pushes and pulls the packages linked to the source repository its claim names, for 15 minutes, with no stored secret:</p>
      <CommandLine command={`echo "$ID_TOKEN" | docker login --username oidc --password-stdin ${registryHost()}`} label="Copy the docker login command for CI jobs" />
      <ErrorMessage error={error} />
      {data && data.trustedIssuers.length === 0 && <p className="muted">No trusted issuers yet.</p>}
      {data && data.trustedIssuers.length > 0 && (
        <table>
          <caption>Trusted issuers of {workspace}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Issuer</th>
              <th scope="col">Claim → source repository</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.trustedIssuers.map((issuer) => (
              <tr key={issuer.id}>
                <td>{issuer.name}</td>
                <td>
                  <code>{issuer.issuerUrl}</code>
                </td>
                <td>
                  {issuer.mappings.map((m) => (
                    <div key={m.claimValue}>
                      {issuer.repositoryClaim} = {m.claimValue} → {m.sourceRepository}
                      {m.pullSourceRepositories.length > 0 && ` (pulls ${m.pullSourceRepositories.join(', ')})`}
                    </div>
                  ))}
                </td>
                <td>
                  <ConfirmButton label="Remove" title={`Stop trusting ${issuer.name}?`} confirmLabel="Remove trusted issuer" onConfirm={() => api<'deleteTrustedIssuer'>('DELETE', `${base}/${issuer.id}`).then(reload)}>
                    <p>Its jobs can no longer log in, and logins in progress end.</p>
                  </ConfirmButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <AddTrustedIssuer base={base} onAdded={reload} />
    </section>
  );
}

function AddTrustedIssuer({ base, onAdded }: { base: string; onAdded: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<NonNullable<Kind>>('github-actions');
  const [issuerUrl, setIssuerUrl] = useState('');
  const [repositoryClaim, setRepositoryClaim] = useState('');
  const [claimValue, setClaimValue] = useState('');
  const [sourceRepository, setSourceRepository] = useState('');
  const [pulls, setPulls] = useState('');
  const [error, setError] = useState('');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError('');
    try {
      const pullSourceRepositories = pulls.split(',').map((p) => p.trim()).filter(Boolean);
      await api<'createTrustedIssuer'>('POST', base, { name, kind, issuerUrl, jwksUrl: '', repositoryClaim, mappings: [{ claimValue, sourceRepository, pullSourceRepositories }] });
      setName('');
      setClaimValue('');
      onAdded();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <form className="panel" onSubmit={(e) => void submit(e)} aria-labelledby="add-trusted-issuer-title">
      <h3 id="add-trusted-issuer-title">Trust an issuer</h3>
      <label>
        Issuer name
        <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. github" />
      </label>
      <label>
        CI system
        <select value={kind} onChange={(e) => setKind(e.target.value as NonNullable<Kind>)}>
          {KINDS.map((k) => (
            <option key={k.value} value={k.value}>
              {k.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Issuer URL (for Bitbucket and other issuers)
        <input type="url" value={issuerUrl} onChange={(e) => setIssuerUrl(e.target.value)} />
      </label>
      <label>
        Repository claim (blank: the CI system's)
        <input value={repositoryClaim} onChange={(e) => setRepositoryClaim(e.target.value)} placeholder="repository" />
      </label>
      <label>
        Claim value
        <input required value={claimValue} onChange={(e) => setClaimValue(e.target.value)} placeholder="e.g. main/app" />
      </label>
      <label>
        Source repository (project/repository)
        <input required value={sourceRepository} onChange={(e) => setSourceRepository(e.target.value)} placeholder="main/app" />
      </label>
      <label>
        Also pull from (project/repository, comma-separated)
        <input value={pulls} onChange={(e) => setPulls(e.target.value)} />
      </label>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit">Trust issuer</button>
    </form>
  );
}
