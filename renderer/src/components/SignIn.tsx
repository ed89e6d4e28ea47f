import { useState, type FormEvent } from 'react';
import type { ClientState, HoldfastClient } from '../../../shared/core/index.js';

export function SignIn({ client, status }: { client: HoldfastClient; status: ClientState }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const busy = status.phase === 'signingIn';

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    client.signIn(user.trim(), password).catch((e: Error) => {
      setError(e.message);
      setPassword('');
    });
  };

  return (
    <main className="sign-in">
      <form className="card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Holdfast</h1>
        <label htmlFor="user">User name</label>
        <input id="user" name="username" autoComplete="username" autoFocus required value={user} onChange={(e) => setUser(e.target.value)} />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        <p className="error" role="alert">
          {error ?? ''}
        </p>
        <button type="submit" disabled={busy || user.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
