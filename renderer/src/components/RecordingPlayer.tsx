// Plays one recorded terminal session on the Admin page: the asciicast file fetched with
// the administrator's token, parsed (recording-timeline.ts) and written into an xterm.js
// of the recorded size, following its resizes. Play/Pause, a seek slider, speed, and
// skipping idle gaps (a pause plays as at most MAX_IDLE seconds); key search lists the
// moments a word was typed, and choosing one goes to just before it, paused.
//
// Everything written to the terminal goes through one queue: xterm parses writes later,
// while a resize or a reset acts at once, so each waits for the writes before it.
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Terminal } from '@xterm/xterm';
import type { RecordingCopy, RecordingSearch } from '../../../shared/protocol/index.js';
import type { AdminApi } from '../admin-api.js';
import {
  CastError,
  clockText,
  countUntil,
  parseCast,
  playedTime,
  recordedTime,
  steps,
  timeline,
  typedAround,
  typistAt,
  type Cast,
  type Step,
} from '../recording-timeline.js';

/** The longest a pause plays for when idle gaps are skipped (s). */
export const MAX_IDLE = 2;
const SPEEDS = [0.5, 1, 2, 4, 8] as const;
/** How far before a key-search match the player stops (s of the recording): the moment before the keys. */
const BEFORE_MATCH = 0.5;
const TICK_MS = 50;

type Loaded = { state: 'loading' } | { state: 'failed'; message: string } | { state: 'ready'; cast: Cast };

export function RecordingPlayer({ api, recording, onClose }: { api: AdminApi; recording: RecordingCopy; onClose: () => void }) {
  const [loaded, setLoaded] = useState<Loaded>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const section = useRef<HTMLElement>(null);
  const id = recording.sessionId;

  useEffect(() => {
    let live = true;
    setLoaded({ state: 'loading' });
    api.recording(id).then(
      (text) => {
        if (!live) return;
        try {
          setLoaded({ state: 'ready', cast: parseCast(text) });
        } catch (error) {
          const why = error instanceof CastError ? error.message : 'It is not a recording this player can read.';
          setLoaded({ state: 'failed', message: `This recording cannot be played. ${why} Export it with “holdfast recording export ${id}” to look at the file.` });
        }
      },
      (error: Error) => live && setLoaded({ state: 'failed', message: `The recording did not load: ${error.message}` }),
    );
    return () => {
      live = false;
    };
  }, [api, id, attempt]);

  // Where the person's attention goes when the player opens: its top, in view, under the list.
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
    section.current?.scrollIntoView({ block: 'start' });
  }, [id]);

  const title = `${recording.appName} of ${recording.owner}, started ${new Date(recording.startedAt).toLocaleString()}`;
  return (
    <section className="recording-player" aria-labelledby="player-title" ref={section}>
      <header>
        <h3 id="player-title" ref={heading} tabIndex={-1}>
          Recording: {title}
        </h3>
        <button onClick={onClose}>Close player</button>
      </header>
      {loaded.state === 'loading' && <p className="muted" role="status">Loading the recording…</p>}
      {loaded.state === 'failed' && (
        <div className="recording-problem" role="alert">
          <p>{loaded.message}</p>
          <button onClick={() => setAttempt((n) => n + 1)}>Try again</button>
        </div>
      )}
      {loaded.state === 'ready' && <Player api={api} id={id} cast={loaded.cast} />}
    </section>
  );
}

function Player({ api, id, cast }: { api: AdminApi; id: string; cast: Cast }) {
  const [skipIdle, setSkipIdle] = useState(true);
  const line = useMemo(() => timeline(cast, skipIdle ? MAX_IDLE : Infinity), [cast, skipIdle]);
  const [at, setAt] = useState(0);
  const [playing, setPlaying] = useState(true);
  const [speed, setSpeed] = useState<number>(1);
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const queue = useRef<Promise<void>>(Promise.resolve());
  /** How many events the terminal has been given. */
  const shown = useRef(0);
  const atRef = useRef(0);

  const enqueue = useCallback((step: (t: Terminal) => void | Promise<void>) => {
    queue.current = queue.current.then(() => (term.current ? step(term.current) : undefined)).catch(() => {});
  }, []);
  const play = useCallback(
    (list: Step[]) => {
      for (const { resize, text } of list) {
        enqueue((t) => {
          if (resize) t.resize(resize.cols, resize.rows);
          if (text) return new Promise<void>((done) => t.write(text, done));
        });
      }
    },
    [enqueue],
  );

  /** Brings the screen to played time `to`: on from where it is, or (going back) from a fresh terminal, the output in one write. */
  const show = useCallback(
    (to: number) => {
      const n = countUntil(line, to);
      if (n < shown.current) {
        enqueue((t) => {
          t.reset();
          t.resize(line.cols, line.rows);
        });
        shown.current = 0;
      }
      play(steps(line, shown.current, n));
      shown.current = n;
      atRef.current = to;
      setAt(to);
    },
    [line, enqueue, play],
  );

  useEffect(() => {
    if (!host.current) return;
    const t = new Terminal({
      cols: cast.header.width,
      rows: cast.header.height,
      disableStdin: true,
      cursorBlink: false,
      scrollback: 1000,
      fontFamily: '"DejaVu Sans Mono", "Cascadia Mono", Menlo, monospace',
      fontSize: 13,
      theme: { background: '#0b0f14', foreground: '#e6e1cf' },
    });
    t.open(host.current);
    term.current = t;
    shown.current = 0;
    return () => {
      term.current = null;
      t.dispose();
    };
  }, [cast]);

  // Skipping idle gaps on or off changes the played clock: stay at the same moment of the recording.
  const previous = useRef(line);
  useEffect(() => {
    if (previous.current === line) return;
    const t = recordedTime(previous.current, atRef.current);
    previous.current = line;
    show(playedTime(line, t));
  }, [line, show]);

  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      const next = Math.min(line.duration, atRef.current + ((now - last) / 1000) * speed);
      last = now;
      show(next);
      if (next >= line.duration) setPlaying(false);
    }, TICK_MS);
    return () => clearInterval(timer);
  }, [playing, speed, line, show]);

  const toggle = () => {
    if (!playing && atRef.current >= line.duration) show(0);
    setPlaying(!playing);
  };
  const typist = typistAt(line, at);
  const owner = cast.header.holdfast?.owner;
  const position = `${clockText(at)} / ${clockText(line.duration)}`;

  return (
    <>
      <div className="recording-controls">
        <button className="primary" onClick={toggle}>
          {playing ? 'Pause' : at >= line.duration ? 'Play again' : 'Play'}
        </button>
        <label className="recording-seek">
          <span>Position</span>
          <input
            type="range"
            min={0}
            max={line.duration}
            step={0.1}
            value={at}
            aria-valuetext={`${clockText(at)} of ${clockText(line.duration)}`}
            onChange={(e) => {
              const v = Number(e.target.value);
              // The slider snaps to its step, so its last step stands for the very end (the last events included).
              show(v > line.duration - 0.1 ? line.duration : v);
            }}
          />
        </label>
        <output className="recording-time" aria-label="Time">
          {position}
        </output>
        <label>
          Speed{' '}
          <select value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </label>
        <label className="recording-skip">
          <input type="checkbox" checked={skipIdle} onChange={(e) => setSkipIdle(e.target.checked)} /> Skip idle gaps (a pause plays as at most {MAX_IDLE} s)
        </label>
        <p className="recording-typist" aria-live="polite">
          {typist ? `Typing now: ${typist}${typist === owner ? ' (the owner)' : ' (through a share link)'}` : ''}
        </p>
      </div>
      <KeySearch
        api={api}
        id={id}
        cast={cast}
        played={(t) => playedTime(line, t)}
        onChoose={(t) => {
          setPlaying(false);
          show(playedTime(line, Math.max(0, t - BEFORE_MATCH)));
        }}
      />
      <div className="recording-screen" ref={host} />
    </>
  );
}

function KeySearch({
  api,
  id,
  cast,
  played,
  onChoose,
}: {
  api: AdminApi;
  id: string;
  cast: Cast;
  /** A recorded time on the player's clock (the slider's). */
  played: (t: number) => number;
  /** Go to just before recorded time `t`, paused. */
  onChoose: (t: number) => void;
}) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<RecordingSearch | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const search = (event: FormEvent) => {
    event.preventDefault();
    const word = query.trim();
    if (!word) return setError('Type what to look for first.');
    setBusy(true);
    setError(null);
    api.searchRecording(id, word).then(
      (answer) => (setFound(answer), setBusy(false)),
      (e: Error) => (setError(`The search did not work: ${e.message} Try again.`), setBusy(false)),
    );
  };

  return (
    <div className="recording-search">
      <form role="search" aria-label="Typed keys" onSubmit={search}>
        <label>
          Find typed text <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Find
        </button>
      </form>
      <p className="error" role="alert">{error ?? ''}</p>
      {found && (
        <div role="status">
          {found.matches.length === 0 ? (
            <p className="muted">“{found.query}” was not typed in this session.</p>
          ) : (
            <>
              <p className="muted">
                “{found.query}” was typed {found.matches.length === 1 ? 'once' : `${found.matches.length} times`}; choose one to go to just before it.
              </p>
              <ul className="recording-matches">
                {found.matches.map((match) => (
                  <li key={match.start}>
                    <button onClick={() => onChoose(match.start)}>
                      <span className="mono">{clockText(played(match.start))}</span> {typedAround(cast, match.start, match.end)}
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
      )}
    </div>
  );
}
