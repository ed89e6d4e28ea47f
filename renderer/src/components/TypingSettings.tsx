// This device's choice for typing in terminals over a slow network, beside the keyboard
// and display settings: whether what is typed shows at once, predicted and underlined
// until the app confirms it (local-echo.ts), or only when the app's answer arrives.
// Automatic does it when the answer takes noticeably long. A password is never shown
// either way. It applies at once to the open terminals and is kept on this device.
import type { Preferences } from '../preferences.js';

const CHOICES: ReadonlyArray<{ value: Preferences['localEcho']; label: string; note: string }> = [
  { value: 'auto', label: 'Automatic', note: 'when the network is slow' },
  { value: 'always', label: 'Always', note: '' },
  { value: 'never', label: 'Never', note: 'show only what the app sends back' },
];

export function TypingSettings({ preferences, onChange }: { preferences: Preferences; onChange: (change: Partial<Preferences>) => void }) {
  return (
    <section className="two-step typing-settings" aria-labelledby="typing-title">
      <h2 id="typing-title">Typing on slow networks</h2>
      <fieldset aria-describedby="local-echo-help">
        <legend>Show what I type in a terminal at once</legend>
        {CHOICES.map((choice) => (
          <label className="choice" key={choice.value}>
            <input type="radio" name="local-echo" value={choice.value} checked={preferences.localEcho === choice.value} onChange={() => onChange({ localEcho: choice.value })} />
            <span>
              {choice.label} {choice.note && <span className="muted">({choice.note})</span>}
            </span>
          </label>
        ))}
      </fieldset>
      <p className="muted" id="local-echo-help">
        What you type is shown before the app answers, underlined until it does. Passwords are never shown.
      </p>
      <p className="muted">Kept on this device.</p>
    </section>
  );
}
