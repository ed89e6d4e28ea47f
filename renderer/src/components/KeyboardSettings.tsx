// This device's keyboard settings, beside two-step sign-in under the apps: which keys
// leave an app for the tabs (for when an app needs the usual ones itself), and whether
// text selected in a terminal is copied at once. A choice applies as it is made and is
// kept on this device (preferences.ts).
import type { EscapeChord, Preferences } from '../preferences.js';

/** A chord as keys: <kbd>Ctrl</kbd>+<kbd>Alt</kbd>+<kbd>Shift</kbd>, read as "Ctrl+Alt+Shift". */
export function ChordKeys({ keys }: { keys: readonly string[] }) {
  return (
    <>
      {keys.map((key, index) => (
        <span key={key}>
          {index > 0 && '+'}
          <kbd>{key}</kbd>
        </span>
      ))}
    </>
  );
}

export function KeyboardSettings({
  preferences,
  chords,
  onChange,
}: {
  preferences: Preferences;
  /** The keys a person may choose from, the default first. */
  chords: readonly EscapeChord[];
  onChange: (change: Partial<Preferences>) => void;
}) {
  return (
    <section className="two-step keyboard-settings" aria-labelledby="keyboard-title">
      <h2 id="keyboard-title">Keyboard</h2>
      <fieldset aria-describedby="escape-chord-help">
        <legend>Keys that take you from an app back to the tabs</legend>
        <p className="muted" id="escape-chord-help">
          Choose other keys if an app needs these for itself.
        </p>
        {chords.map((chord) => (
          <label className="choice" key={chord.id}>
            <input type="radio" name="escape-chord" value={chord.id} checked={preferences.escapeChord === chord.id} onChange={() => onChange({ escapeChord: chord.id })} />
            <span>
              <ChordKeys keys={chord.keys} /> <span className="muted">({chord.note})</span>
            </span>
          </label>
        ))}
      </fieldset>
      <label className="choice">
        <input type="checkbox" checked={preferences.copyOnSelect} onChange={(e) => onChange({ copyOnSelect: e.target.checked })} aria-describedby="copy-on-select-help" />
        <span>Copy text when I select it in a terminal</span>
      </label>
      <p className="muted" id="copy-on-select-help">
        Otherwise copy with <ChordKeys keys={['Ctrl', 'Shift', 'C']} /> or a right click.
      </p>
      <p className="muted">Kept on this device.</p>
    </section>
  );
}
