import { useEffect, useState, type FormEvent } from 'react';
import type { ApiResponse } from '@ocireg/web-api';
import { api, ApiError } from '../api';
import { navigate } from '../router';

/** Opens an invitation or reset link: the secret is the URL's fragment, which never reaches a server log. */
export function SetPasswordPage() {
  const secret = decodeURIComponent(location.hash.replace(/^#/, ''));
  const [link, setLink] = useState<ApiResponse<'inspectPasswordLink'>>();
  const [error, setError] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [done, setDone] = useState('');
  useEffect(() => {
    api<'inspectPasswordLink'>('POST', '/password-links/inspect', { secret }).then(setLink, (err: unknown) => setError(err instanceof ApiError ? err.message : String(err)));
  }, [secret]);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== again) {
      setError('The two passwords differ.');
      return;
    }
    setError('');
    try {
      const { email } = await api<'redeemPasswordLink'>('POST', '/password-links/redeem', { secret, password });
      history.replaceState(null, '', '/set-password');
      setDone(email);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return (
    <main id="main" className="narrow">
      <h1>{link?.purpose === 'reset' ? 'Reset your password' : 'Set your password'}</h1>
      {done ? (
        <>
          <p>The password of {done} is set.</p>
          <button type="button" className="primary" onClick={() => navigate(`/sign-in?email=${encodeURIComponent(done)}`)}>
            Sign in
          </button>
        </>
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          {link && <p>For {link.email}. At least 12 characters; a phrase of several words is easy to remember and hard to guess.</p>}
          <label>
            New password
            <input type="password" autoComplete="new-password" minLength={12} required value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <label>
            The same again
            <input type="password" autoComplete="new-password" minLength={12} required value={again} onChange={(e) => setAgain(e.target.value)} />
          </label>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary" disabled={!link}>
            Set password
          </button>
        </form>
      )}
    </main>
  );
}
