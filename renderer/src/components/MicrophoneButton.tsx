// Lets a session's app hear the person's microphone (issue 25): off until the person
// turns it on; the node is asked first (its policy may not allow it: then the browser
// never prompts), then the browser's own permission prompt, then packets flow. It says
// what went wrong in words a person understands, and goes back to off. A computer whose
// machine policy turns the microphone off shows no button at all.
import { useContext, useEffect, useRef, useState } from 'react';
import type { MicrophoneSource, SessionStream } from '../../../shared/core/index.js';
import { MachineSound } from '../machine-sound.js';
import { MicrophoneCapture } from '../microphone-capture.js';

type State = 'off' | 'asking' | 'on';

export function MicrophoneButton({ stream, appName }: { stream: SessionStream; appName: string }) {
  const machine = useContext(MachineSound);
  const [state, setState] = useState<State>('off');
  const [note, setNote] = useState<string | null>(null);
  const capture = useRef<MicrophoneCapture | null>(null);
  /** Which turning-on is current: an answer or a prompt that resolves after the person turned it off again is ignored. */
  const turn = useRef(0);

  const stop = (message: string | null) => {
    turn.current++;
    stream.speak(null);
    capture.current?.close();
    capture.current = null;
    setState('off');
    setNote(message);
  };

  useEffect(
    () => () => {
      turn.current++;
      stream.speak(null);
      capture.current?.close();
      capture.current = null;
    },
    [stream],
  );

  const start = () => {
    if (!MicrophoneCapture.supported()) return setNote('This browser cannot send your microphone (it lacks WebCodecs); use Chromium, Edge or the Holdfast app.');
    const mine = ++turn.current;
    setState('asking');
    setNote(null);
    const source: MicrophoneSource = {
      answered: (on, message) => {
        if (turn.current !== mine) return;
        if (!on) return stop(message ?? `${appName} cannot hear your microphone now.`);
        // A yes again after a reconnect: the microphone is already open.
        if (capture.current) return;
        MicrophoneCapture.open(
          (packet) => stream.sendMicrophone(packet),
          (problem) => turn.current === mine && stop(problem),
        ).then(
          (opened) => {
            if (turn.current !== mine) return opened.close();
            capture.current = opened;
            setState('on');
          },
          (error: Error) => turn.current === mine && stop(error.message),
        );
      },
    };
    stream.speak(source);
  };

  if (!machine.microphone) return null;
  return (
    <span className="microphone-controls">
      <button
        className={state === 'on' ? 'quiet microphone-live' : 'quiet'}
        aria-pressed={state !== 'off'}
        onClick={() => (state === 'off' ? start() : stop(null))}
        title={state === 'on' ? `${appName} hears your microphone. Click to stop.` : `Let ${appName} hear your microphone`}
      >
        {state === 'on' ? '● Microphone on' : state === 'asking' ? 'Microphone…' : 'Microphone off'}
      </button>
      {note && (
        <span className="error" role="alert">
          {note}
        </span>
      )}
    </span>
  );
}
