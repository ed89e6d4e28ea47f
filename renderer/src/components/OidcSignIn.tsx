import { useCallback, useEffect, useState } from 'react';
import type { AuthMethods } from '../../../shared/protocol/index.js';
import { oidcStartUrl } from '../../../shared/protocol/index.js';
import type { HoldfastClient } from '../../../shared/core/index.js';
import type { DesktopShell } from '../desktop.js';
import { beginHandoff, fetchAuthMethods, takeHandoff, takeReturnedCode } from '../oidc.js';

/**
 * "Sign in with <provider>" under the password form when the broker offers it, and the
 * end of such a sign-in: the code the web client came back with (#oidc=), or the one a
 * holdfast://oidc link brought the desktop app. The web client goes to the provider in
 * this tab (a top-level navigation, which the CSP does not restrict); the desktop app
 * has main open it in the system browser.
 */
export function OidcSignIn({ client, desktop, remember, busy, onError }: { client: HoldfastClient; desktop?: DesktopShell; remember: boolean; busy: boolean; onError: (message: string | null) => void }) {
  const [methods, setMethods] = useState<AuthMethods | null>(null);
  const [waiting, setWaiting] = useState(false);

  useEffect(() => {
    let live = true;
    void fetchAuthMethods(client.brokerUrl).then((found) => live && setMethods(found));
    return () => {
      live = false;
    };
  }, [client]);

  const finish = useCallback(
    (code: string) => {
      setWaiting(false);
      const handoff = takeHandoff();
      if (!handoff) return onError('This sign-in was not started in this window, so it cannot be finished here. Start again with the sign-in button.');
      onError(null);
      client.signInWithCode(code, handoff, { remember }).catch((error: Error) => onError(error.message));
    },
    [client, remember, onError],
  );

  useEffect(() => {
    const code = takeReturnedCode();
    if (code === 'invalid') onError('The address this page was opened with holds no usable sign-in code. Start again with the sign-in button.');
    else if (code) finish(code);
    // Once, at the first sign-in screen after the page loaded (takeReturnedCode gives a code once).
  }, []);

  useEffect(() => desktop?.bridge.onOidcCode(({ code }) => finish(code)), [desktop, finish]);

  if (!methods?.oidc) return null;
  const label = `Sign in with ${methods.oidc.displayName}`;
  const start = () => {
    onError(null);
    const handoff = beginHandoff();
    if (!desktop) return window.location.assign(oidcStartUrl(client.brokerUrl, 'web', handoff));
    desktop.bridge.startOidc(handoff).then(
      () => setWaiting(true),
      (error: Error) => onError(`Cannot open your browser to sign in: ${error.message.replace(/^.*refused, /, '')}`),
    );
  };
  return (
    <div className="oidc">
      <p className="or" aria-hidden="true">
        <span>or</span>
      </p>
      <button type="button" className="oidc-button" onClick={start} disabled={busy}>
        {label}
      </button>
      {waiting && (
        <p className="muted" role="status">
          Finish signing in with {methods.oidc.displayName} in your browser; Holdfast continues here when you are done.
        </p>
      )}
    </div>
  );
}
