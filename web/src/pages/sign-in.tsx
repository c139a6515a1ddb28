import { useEffect, useState, type FormEvent } from 'react';
import type { ApiResponse } from '@ocireg/web-api';
import { api, ApiError, get } from '../api';
import type { SessionInfo } from '../session';

type Methods = ApiResponse<'signInMethods'>;

/**
 * Sign-in: with an identity provider the operators configured (single
 * sign-on), and with an email and password (set through an invitation or
 * reset link) unless the operators turned passwords off. A refused single
 * sign-on comes back here, and the sign-in methods say why (once).
 */
export function SignInPage({ onSignedIn, email: initialEmail = '' }: { onSignedIn: (session: SessionInfo) => void; email?: string }) {
  const search = new URLSearchParams(location.search);
  const next = search.get('next') ?? (location.pathname !== '/sign-in' ? location.pathname + location.search : '/');
  const [methods, setMethods] = useState<Methods>();
  const [email, setEmail] = useState(initialEmail);
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    get<'signInMethods'>('/sign-in-methods').then(
      (answer) => {
        setMethods(answer);
        if (answer.refusal) setError(answer.refusal);
      },
      () => setMethods({ password: true, providers: [] }),
    );
  }, []);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      onSignedIn(await api<'signIn'>('POST', '/session', { email, password }));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'could not sign in');
    } finally {
      setBusy(false);
    }
  };
  const alert = error && (
    <p className="error" role="alert">
      {error}
    </p>
  );
  if (!methods) {
    return (
      <main id="main" className="narrow">
        <h1>Sign in to ocireg</h1>
        {alert}
        <p role="status">Loading…</p>
      </main>
    );
  }
  return (
    <main id="main" className="narrow">
      <h1>Sign in to ocireg</h1>
      {methods.providers.length > 0 && (
        <ul className="sign-in-providers">
          {methods.providers.map((p) => (
            <li key={p.name}>
              <a className="button primary" href={`${p.startUrl}?${new URLSearchParams({ returnTo: next })}`}>
                Sign in with {p.displayName}
              </a>
            </li>
          ))}
        </ul>
      )}
      {methods.password ? (
        <form onSubmit={(e) => void submit(e)}>
          <label>
            Email
            <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          <label>
            Password
            <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          {alert}
          <button type="submit" className={methods.providers.length ? '' : 'primary'} disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      ) : (
        alert
      )}
      {methods.password && <p className="muted">No password yet? Ask an operator or a workspace admin for an invitation link (registryctl user invite).</p>}
      {!methods.password && methods.providers.length === 0 && <p>Sign-in is turned off here: ask an operator.</p>}
    </main>
  );
}
