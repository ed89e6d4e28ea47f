// A session's sound, in its tab (issue 25): a button that turns it on and off, a volume,
// and a mark while the app is playing, read from the player's analyser. Both are
// remembered per app (sound-memory.ts): a tab of an app whose sound was left on starts
// with it on — and says "click to hear" while the browser waits for a click or a key
// before it plays anything (its autoplay rule; resume-on-gesture.ts). A browser that
// cannot decode Opus says so, and the sound stays off. A machine policy that turns sound
// off (docs/desktop.md) leaves only a line saying so, and the node is never asked.
import { useContext, useEffect, useState } from 'react';
import type { SessionStream } from '../../../shared/core/index.js';
import { MachineSound } from '../machine-sound.js';
import { pageStorage, rememberSound, rememberedSound, type SoundChoice } from '../sound-memory.js';
import { SoundPlayer } from '../sound-player.js';

/** A player still suspended this long after it was made waits for a gesture (before that it may simply be starting). */
const GESTURE_WAIT_MS = 500;

const UNSUPPORTED = 'This browser cannot play the app’s sound (it lacks WebCodecs); use Chromium, Edge or the Holdfast app.';

export function SoundButton({ stream, appId, appName }: { stream: SessionStream; appId: string; appName: string }) {
  const machine = useContext(MachineSound);
  if (!machine.playback) {
    return <span className="muted sound-off-here">Sound is turned off on this computer by its administrator</span>;
  }
  return <SoundControls stream={stream} appId={appId} appName={appName} />;
}

/** What the tab shows of the player, read a few times a second. */
interface Hearing {
  /** Suspended past GESTURE_WAIT_MS: the browser waits for a click or a key. */
  waiting: boolean;
  peak: { hz: number; db: number } | null;
  scheduled: number;
}

function SoundControls({ stream, appId, appName }: { stream: SessionStream; appId: string; appName: string }) {
  const [storage] = useState(pageStorage);
  const [choice, setChoice] = useState<SoundChoice>(() => rememberedSound(storage, appId));
  const [player, setPlayer] = useState<SoundPlayer | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [hearing, setHearing] = useState<Hearing>({ waiting: false, peak: null, scheduled: 0 });

  // Kept for the next tab of this app, as it changes.
  useEffect(() => rememberSound(storage, appId, choice), [storage, appId, choice]);

  // A player while the sound is on, for this stream (a relaunch brings a new one). The
  // node is asked once the browser lets it play: sound it could not play is not fetched.
  useEffect(() => {
    if (!choice.on) return;
    if (!SoundPlayer.supported()) {
      setNote(UNSUPPORTED);
      setChoice((current) => ({ ...current, on: false }));
      return;
    }
    const next = new SoundPlayer((message) => (setNote(message), setChoice((current) => ({ ...current, on: false }))));
    setPlayer(next);
    const stopWaiting = next.whenRunning(() => stream.listen(next));
    return () => {
      stopWaiting();
      stream.listen(null);
      next.close();
      setPlayer(null);
      setHearing({ waiting: false, peak: null, scheduled: 0 });
    };
  }, [choice.on, stream]);

  useEffect(() => {
    if (player) player.volume = choice.volume / 100;
  }, [player, choice.volume]);

  useEffect(() => {
    if (!player) return;
    const made = performance.now();
    const read = () =>
      setHearing({
        waiting: !player.running && performance.now() - made > GESTURE_WAIT_MS,
        peak: player.running ? player.peak() : null,
        scheduled: player.scheduledSeconds,
      });
    read();
    const timer = setInterval(read, 250);
    player.context.addEventListener('statechange', read);
    return () => {
      clearInterval(timer);
      player.context.removeEventListener('statechange', read);
    };
  }, [player]);

  const toggle = () => {
    setNote(null);
    setChoice((current) => ({ ...current, on: !current.on }));
  };

  const { waiting, peak } = hearing;
  return (
    <span className="sound-controls">
      <button className="quiet" aria-pressed={choice.on} onClick={toggle} title={`${appName}’s sound`}>
        {choice.on ? 'Sound on' : 'Sound off'}
      </button>
      {player && (
        <>
          <label>
            <span className="visually-hidden">Volume of {appName}</span>
            <input type="range" min={0} max={100} value={choice.volume} onChange={(event) => setChoice((current) => ({ ...current, volume: Number(event.target.value) }))} />
          </label>
          <span
            className={waiting ? 'sound-playing sound-waiting' : 'sound-playing'}
            role="status"
            title={waiting ? 'The browser plays sound only once you click or press a key on this page.' : undefined}
            data-peak-hz={peak ? Math.round(peak.hz) : undefined}
            data-scheduled-s={hearing.scheduled.toFixed(2)}
          >
            {waiting ? 'click to hear' : peak ? 'playing' : 'quiet'}
          </span>
        </>
      )}
      {note && (
        <span className="error" role="alert">
          {note}
        </span>
      )}
    </span>
  );
}
