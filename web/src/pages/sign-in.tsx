import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api';
import type { SessionInfo } from '../session';

/** Sign-in with email and password (set through an invitation or reset link). */
export function SignInPage({ onSignedIn, email: initialEmail = '' }: { onSignedIn: (session: SessionInfo) => void; email?: string }) {
  const [email, setEmail] = useState(initialEmail);
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
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
  return (
    <main id="main" className="narrow">
      <h1>Sign in to ocireg</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Email
          <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="muted">No password yet? Ask an operator or a workspace admin for an invitation link (registryctl user invite).</p>
    </main>
  );
}
