import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { ClientState, HoldfastClient } from '../../../shared/core/index.js';
import { DesktopSettings, type DesktopShell } from '../desktop.js';
import { OidcSignIn } from './OidcSignIn.js';

/**
 * In the desktop app it may also offer "remember me" and the person's settings; on a
 * kiosk the user is the kiosk's account, and the first sign-in (by an administrator)
 * stores its secret with the OS's secret storage for every start after.
 */
/** `below`: what else a person may do here without signing in (watch a shared session as a guest). */
export function SignIn({ client, status, desktop, notice = null, below = null }: { client: HoldfastClient; status: ClientState; desktop?: DesktopShell; notice?: string | null; below?: ReactNode }) {
  const kioskAccount = desktop?.config.kiosk?.account ?? null;
  const [user, setUser] = useState(kioskAccount ?? '');
  const [password, setPassword] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** What to do next, when it is not an error (the second factor is asked for). */
  const [prompt, setPrompt] = useState<string | null>(null);
  /** The password was right and this person uses two-step sign-in: ask for the code. */
  const [needCode, setNeedCode] = useState(false);
  const [code, setCode] = useState('');
  const busy = status.phase === 'signingIn';
  const rememberMe = desktop?.config.rememberMe;
  const passwordField = useRef<HTMLInputElement>(null);
  const codeField = useRef<HTMLInputElement>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const secret = password;
    client.signIn(user.trim(), secret, { remember: remember && rememberMe?.offered === true, ...(needCode && code.trim() ? { code: code.trim() } : {}) }).then(
      () => {
        if (kioskAccount && desktop) {
          void desktop.bridge.saveKioskSecret(secret).then((result) => {
            if (!result.saved) setError(`Signed in, but this kiosk cannot keep the secret: ${result.reason ?? 'unknown reason'}.`);
          });
        }
      },
      (e: Error & { code?: string }) => {
        // Asked for the second factor: an instruction, not an error.
        setError(e.code === 'second_factor' ? null : e.message);
        setPrompt(e.code === 'second_factor' ? e.message : null);
        setCode('');
        if (e.code === 'second_factor') setNeedCode(true);
        else if (!needCode) setPassword('');
        // Back where the next try starts: the code if one was asked for, else the password
        // (the form was disabled while signing in, which took focus away).
        queueMicrotask(() => ((needCode || e.code === 'second_factor' ? codeField : passwordField).current ?? passwordField.current)?.focus());
      },
    );
  };

  return (
    <main className="sign-in">
      <div className="sign-in-column">
      <form className="card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Holdfast</h1>
        {kioskAccount && <p className="muted">This kiosk signs in as {kioskAccount}. An administrator signs in once; after that it signs in by itself.</p>}
        <label htmlFor="user">User name</label>
        <input id="user" name="username" autoComplete="username" autoFocus={!kioskAccount} readOnly={kioskAccount !== null} required value={user} onChange={(e) => setUser(e.target.value)} />
        <label htmlFor="password">Password</label>
        <input id="password" ref={passwordField} name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        {needCode && (
          <>
            <label htmlFor="code">Code from your authenticator app</label>
            <input id="code" ref={codeField} name="one-time-code" autoComplete="one-time-code" inputMode="numeric" autoFocus required value={code} onChange={(e) => setCode(e.target.value)} aria-describedby="code-help" />
            <p id="code-help" className="muted">Or one of your recovery codes.</p>
          </>
        )}
        {rememberMe?.offered && !kioskAccount && (
          <label className="remember">
            <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} /> Remember me on this computer
          </label>
        )}
        {prompt && !error && (
          <p className="sign-in-prompt" role="status">
            {prompt}
          </p>
        )}
        <p className="error" role="alert">
          {error ?? notice ?? ''}
        </p>
        <button type="submit" disabled={busy || user.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {!kioskAccount && <OidcSignIn client={client} desktop={desktop} remember={remember && rememberMe?.offered === true} busy={busy} onError={setError} />}
        {desktop && !kioskAccount && <DesktopSettings desktop={desktop} />}
      </form>
      {below}
      </div>
    </main>
  );
}
