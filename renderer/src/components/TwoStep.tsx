// Two-step sign-in, as a setting a person finishes without help: whether it is on; to
// turn it on, the QR code (and the key as text, in groups of four) for an authenticator
// app, the first code to confirm it, Cancel at every step; then the recovery codes,
// shown once, with Copy and Download.
import { useState, type FormEvent } from 'react';
import type { HoldfastClient } from '../../../shared/core/index.js';

type Step = { kind: 'idle' } | { kind: 'scan'; secret: string; qr: string } | { kind: 'done'; codes: string[] } | { kind: 'on' };

/** The key as people copy it by hand: groups of four. */
export const groupedKey = (secret: string) => secret.match(/.{1,4}/g)?.join(' ') ?? secret;

export function TwoStepSetup({ client }: { client: HoldfastClient }) {
  const [step, setStep] = useState<Step>(client.twoStepOn ? { kind: 'on' } : { kind: 'idle' });
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const begin = () => {
    setError(null);
    setBusy(true);
    client
      .beginTotp()
      .then(
        (setup) => setStep({ kind: 'scan', secret: setup.secret, qr: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(setup.qrSvg)}` }),
        (e: Error) => setError(e.message),
      )
      .finally(() => setBusy(false));
  };
  const confirm = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    client
      .confirmTotp(code.trim())
      .then(
        (codes) => setStep({ kind: 'done', codes }),
        (e: Error) => setError(e.message),
      )
      .finally(() => {
        setBusy(false);
        setCode('');
      });
  };
  const cancel = () => {
    setStep({ kind: 'idle' });
    setError(null);
    setCode('');
  };
  const codesText = (codes: string[]) => `Holdfast recovery codes — each signs you in once without your phone.\n\n${codes.join('\n')}\n`;
  const copy = (codes: string[]) =>
    navigator.clipboard.writeText(codesText(codes)).then(
      () => setNote('Copied. Paste them into your password manager.'),
      () => setNote('The browser did not allow copying: use Download, or write them down.'),
    );
  const download = (codes: string[]) => {
    const link = document.createElement('a');
    link.href = `data:text/plain;charset=utf-8,${encodeURIComponent(codesText(codes))}`;
    link.download = 'holdfast-recovery-codes.txt';
    link.click();
    setNote('Saved as holdfast-recovery-codes.txt.');
  };

  return (
    <section className="two-step" aria-labelledby="two-step-title">
      <h2 id="two-step-title">Two-step sign-in</h2>
      {step.kind === 'on' && <p>On: you sign in with your password and a code from your authenticator app. If you lose your phone and your recovery codes, ask your administrator to reset it.</p>}
      {step.kind === 'idle' && (
        <>
          <p className="muted">Ask for a code from an authenticator app on your phone as well as your password.</p>
          <div className="actions start">
            <button className="primary" onClick={begin} disabled={busy}>
              Set up two-step sign-in
            </button>
          </div>
        </>
      )}
      {step.kind === 'scan' && (
        <form onSubmit={confirm}>
          <p>1. Scan this with your authenticator app, or enter the key by hand.</p>
          <img className="totp-qr" src={step.qr} alt="QR code for your authenticator app" width={180} height={180} />
          <p>
            Key: <code className="totp-secret">{groupedKey(step.secret)}</code>
          </p>
          <label htmlFor="totp-code">2. Enter the 6-digit code the app shows</label>
          <input id="totp-code" inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
          <div className="actions start">
            <button type="submit" className="primary" disabled={busy}>
              Turn on
            </button>
            <button type="button" onClick={cancel}>
              Cancel
            </button>
          </div>
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
          <div className="actions start">
            <button className="primary" onClick={() => void copy(step.codes)}>
              Copy codes
            </button>
            <button onClick={() => download(step.codes)}>Download codes</button>
            <button onClick={() => setStep({ kind: 'on' })}>I have kept them</button>
          </div>
          {note && <p className="muted">{note}</p>}
        </>
      )}
      <p className="error" role="alert">
        {error ?? ''}
      </p>
    </section>
  );
}
