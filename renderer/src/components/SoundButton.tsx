// A session's sound, in its tab (issue 25): a button that turns it on and off (off until
// the person turns it on: a browser plays nothing before a click anyway), a volume, and
// a mark while the app is playing, read from the player's analyser. A browser that cannot
// decode Opus says so, and the sound stays off.
import { useEffect, useState } from 'react';
import type { SessionStream } from '../../../shared/core/index.js';
import { SoundPlayer } from '../sound-player.js';

export function SoundButton({ stream, appName }: { stream: SessionStream; appName: string }) {
  const [player, setPlayer] = useState<SoundPlayer | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [peak, setPeak] = useState<{ hz: number; db: number } | null>(null);
  const [volume, setVolume] = useState(80);

  useEffect(() => {
    if (!player) return;
    const timer = setInterval(() => setPeak(player.peak()), 250);
    return () => {
      clearInterval(timer);
      stream.listen(null);
      player.close();
    };
  }, [player, stream]);

  useEffect(() => {
    if (player) player.volume = volume / 100;
  }, [player, volume]);

  const toggle = () => {
    if (player) return (setPlayer(null), setPeak(null));
    if (!SoundPlayer.supported()) return setNote('This browser cannot play the app’s sound (it lacks WebCodecs); use Chromium, Edge or the Holdfast app.');
    const next = new SoundPlayer((message) => (setNote(message), setPlayer(null)));
    void next.context.resume();
    setNote(null);
    stream.listen(next);
    setPlayer(next);
  };

  return (
    <span className="sound-controls">
      <button className="quiet" aria-pressed={player !== null} onClick={toggle} title={`${appName}’s sound`}>
        {player ? 'Sound on' : 'Sound off'}
      </button>
      {player && (
        <>
          <label>
            <span className="visually-hidden">Volume of {appName}</span>
            <input type="range" min={0} max={100} value={volume} onChange={(event) => setVolume(Number(event.target.value))} />
          </label>
          <span className="sound-playing" role="status" data-peak-hz={peak ? Math.round(peak.hz) : undefined}>
            {peak ? 'playing' : 'quiet'}
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
