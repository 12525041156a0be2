'use client';
// Sign-in form: fetches a pre-session CSRF token, posts the credentials, then goes to the start page.
import { useEffect, useState, type FormEvent } from 'react';
import { api } from './api-client.ts';

export function SignInForm() {
  const [csrf, setCsrf] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    fetch('/api/auth/csrf', { credentials: 'same-origin' }).then((r) => r.json()).then((d) => setCsrf(d.csrfToken)).catch(() => setError('cannot reach the server'));
  }, []);
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError('');
    try {
      const r = await api<{ user: { role: string } }>('/api/auth/signin', csrf, { email: f.get('email'), password: f.get('password') });
      window.location.assign(r.user.role === 'admin' ? '/admin' : '/annotate');
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  }
  return (
    <form className="card narrow" onSubmit={onSubmit} aria-describedby="signin-error">
      <h1>Sign in</h1>
      <label htmlFor="email">E-mail</label>
      <input id="email" name="email" type="email" autoComplete="username" required autoFocus />
      <label htmlFor="password">Password</label>
      <input id="password" name="password" type="password" autoComplete="current-password" required />
      <button type="submit" disabled={busy || !csrf}>Sign in</button>
      <p id="signin-error" role="alert" className="error">{error}</p>
    </form>
  );
}
