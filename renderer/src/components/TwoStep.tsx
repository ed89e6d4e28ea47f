// Setting up two-step sign-in: the QR code (and the secret as text) for an
// authenticator app, the first code to confirm it, then the recovery codes, shown once.
import { useState, type FormEvent } from 'react';
import type { HoldfastClient } from '../../../shared/core/index.js';

type Step = { kind: 'idle' } | { kind: 'scan'; secret: string; qr: string } | { kind: 'done'; codes: string[] };

export function TwoStepSetup({ client }: { client: HoldfastClient }) {
  const [step, setStep] = useState<Step>({ kind: 'idle' });
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const begin = () => {
    setError(null);
    setBusy(true);
    client.beginTotp().then(
      (setup) => setStep({ kind: 'scan', secret: setup.secret, qr: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qrSvg)}` }),
      (e: Error) => setError(e.message),
    ).finally(() => setBusy(false));
  };
  const confirm = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    client.confirmTotp(code.trim()).then(
      (codes) => setStep({ kind: 'done', codes }),
      (e: Error) => setError(e.message),
    ).finally(() => {
      setBusy(false);
      setCode('');
    });
  };

  return (
    <section className="two-step" aria-labelledby="two-step-title">
      <h2 id="two-step-title">Two-step sign-in</h2>
      {step.kind === 'idle' && (
        <>
          <p className="muted">Ask for a code from an authenticator app on your phone as well as your password.</p>
          <button onClick={begin} disabled={busy}>Set up two-step sign-in</button>
        </>
      )}
      {step.kind === 'scan' && (
        <form onSubmit={confirm}>
          <p>Scan this with your authenticator app, or enter the key by hand.</p>
          <img className="totp-qr" src={step.qr} alt="QR code for your authenticator app" width={180} height={180} />
          <p>
            Key: <code className="totp-secret">{step.secret}</code>
          </p>
          <label htmlFor="totp-code">Code the app shows</label>
          <input id="totp-code" inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
          <button type="submit" disabled={busy}>Turn on</button>
        </form>
      )}
      {step.kind === 'done' && (
        <>
          <p role="status">Two-step sign-in is on. Keep these recovery codes somewhere safe: each signs you in once without your phone. They are not shown again.</p>
          <ul className="recovery-codes" aria-label="Recovery codes">
            {step.codes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      <p className="error" role="alert">{error ?? ''}</p>
    </section>
  );
}
