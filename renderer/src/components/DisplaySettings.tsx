// This device's choice for graphical apps, beside the keyboard settings: drawn with
// every pixel of the screen (sharp; the default) or with fewer, larger pixels, which
// cost a quarter of the data on a 2× screen (rfb-fit.ts). It applies at once to the
// open apps and is kept on this device (preferences.ts).
import type { Preferences } from '../preferences.js';

/** "2×", "1.5×": how many device pixels this screen has per CSS pixel. */
const ratioText = (ratio: number) => `${Math.round(ratio * 100) / 100}×`;

export function DisplaySettings({
  preferences,
  devicePixelRatio,
  onChange,
}: {
  preferences: Preferences;
  /** This screen's, as the page has it now. */
  devicePixelRatio: number;
  onChange: (change: Partial<Preferences>) => void;
}) {
  const sharp = devicePixelRatio > 1;
  return (
    <section className="two-step display-settings" aria-labelledby="display-title">
      <h2 id="display-title">Graphical apps</h2>
      <fieldset aria-describedby="display-pixels-help">
        <legend>How graphical apps are drawn on this screen</legend>
        <label className="choice">
          <input type="radio" name="display-pixels" value="device" checked={preferences.displayPixels === 'device'} onChange={() => onChange({ displayPixels: 'device' })} />
          <span>
            Sharp <span className="muted">(every pixel of your screen)</span>
          </span>
        </label>
        <label className="choice">
          <input type="radio" name="display-pixels" value="css" checked={preferences.displayPixels === 'css'} onChange={() => onChange({ displayPixels: 'css' })} />
          <span>
            Save bandwidth <span className="muted">(fewer, larger pixels: for slow networks)</span>
          </span>
        </label>
      </fieldset>
      <p className="muted" id="display-pixels-help">
        {sharp
          ? `This screen has ${ratioText(devicePixelRatio)} pixels: Sharp sends up to ${ratioText(devicePixelRatio * devicePixelRatio)} as much as Save bandwidth.`
          : 'On this screen both look the same.'}
      </p>
      <p className="muted">Kept on this device.</p>
    </section>
  );
}
