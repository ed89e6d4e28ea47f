// The Admin page's recordings: every recorded session in the cluster, newest first (the
// admin API's list, each session once by its best copy), with a player for the one
// chosen. Asked for when the page comes to the front and on Refresh — not every second
// like the cluster's status: the list is gathered from every node.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { RecordingCopy, RecordingSearch } from '../../../shared/protocol/index.js';
import type { AdminApi } from '../admin-api.js';
import { clockText, sizeText } from '../recording-timeline.js';
import { RecordingPlayer } from './RecordingPlayer.js';
import { RfbRecordingPlayer } from './RfbRecordingPlayer.js';

/** How far before a key-search match a graphical recording is shown (s): the screen just before the keys. */
const SEARCH_LEAD_S = 0.5;

/** Whether a copy is whole, in words: what the API says kept it from being so. */
export function completeness(copy: RecordingCopy): { text: string; good: boolean } {
  if (copy.complete) return { text: 'complete', good: true };
  if (copy.problem) return { text: `incomplete: ${copy.problem}`, good: false };
  if (copy.endedAt === null) return { text: 'incomplete: still being recorded, or its node stopped mid-session', good: false };
  return { text: 'incomplete', good: false };
}

export function RecordingsSection({ api, visible }: { api: AdminApi; visible: boolean }) {
  const [list, setList] = useState<RecordingCopy[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [playing, setPlaying] = useState<RecordingCopy | null>(null);
  const playButton = useRef<HTMLButtonElement | null>(null);

  const refresh = useCallback(() => {
    setLoading(true);
    api.recordings().then(
      (next) => (setList(next), setError(null), setLoading(false)),
      (e: Error) => (setError(e.message), setLoading(false)),
    );
  }, [api]);

  useEffect(() => {
    if (visible) refresh();
  }, [visible, refresh]);

  const close = () => {
    setPlaying(null);
    // Back to where the person was: the row's Play button.
    setTimeout(() => playButton.current?.focus());
  };

  return (
    <>
      <h2 id="recordings-title">Recordings{list ? ` (${list.length})` : ''}</h2>
      <div className="recordings-tools">
        <button onClick={refresh} disabled={loading}>
          {loading ? 'Refreshing…' : 'Refresh recordings'}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          The recordings could not be listed: {error} Try again with Refresh recordings.
        </p>
      )}
      {list && list.length === 0 && (
        <p className="muted">No sessions have been recorded. A session policy with <code>recording: on</code> records the sessions it covers.</p>
      )}
      {list && list.length > 0 && (
        <table className="admin-table recordings-table" aria-labelledby="recordings-title">
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">App</th>
              <th scope="col">Node</th>
              <th scope="col">Started</th>
              <th scope="col">Length</th>
              <th scope="col">Size</th>
              <th scope="col">Complete</th>
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {list.map((copy) => {
              const started = new Date(copy.startedAt).toLocaleString();
              const whole = completeness(copy);
              return (
                <tr key={copy.sessionId} data-recording={copy.sessionId} aria-current={playing?.sessionId === copy.sessionId ? 'true' : undefined}>
                  <th scope="row">{copy.owner}</th>
                  <td data-label="App">{copy.appName}</td>
                  <td data-label="Node">{copy.node}</td>
                  <td data-label="Started">
                    <time dateTime={new Date(copy.startedAt).toISOString()}>{started}</time>
                  </td>
                  <td data-label="Length" className="num">{clockText(copy.seconds)}</td>
                  <td data-label="Size" className="num">{sizeText(copy.bytes)}</td>
                  <td data-label="Complete" className={whole.good ? 'good' : 'warn'}>{whole.text}</td>
                  <td>
                    <button
                      aria-label={`Play ${copy.appName} of ${copy.owner}, started ${started}`}
                      onClick={(event) => {
                        playButton.current = event.currentTarget;
                        setPlaying(copy);
                      }}
                    >
                      Play
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {playing && playing.kind !== 'rfb' && <RecordingPlayer key={playing.sessionId} api={api} recording={playing} onClose={close} />}
      {playing && playing.kind === 'rfb' && <RfbRecordingPanel key={playing.sessionId} api={api} recording={playing} onClose={close} />}
    </>
  );
}

/** A graphical app's recording: its RFB stream played in noVNC, under the same heading and Close as a terminal's, with key search. */
function RfbRecordingPanel({ api, recording, onClose }: { api: AdminApi; recording: RecordingCopy; onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // The player is where the person's attention goes: its heading takes the focus once, when it opens.
  useEffect(() => heading.current?.focus(), []);
  /** A key search's match chosen: the player goes just before it, paused. */
  const [at, setAt] = useState<number | undefined>(undefined);
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<RecordingSearch | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const search = (event: FormEvent) => {
    event.preventDefault();
    const word = query.trim();
    if (!word) return setProblem('Type what to look for first.');
    setProblem(null);
    api.searchRecording(recording.sessionId, word).then(setFound, (e: Error) => setProblem(`The search did not work: ${e.message} Try again.`));
  };
  return (
    <section className="recording-player" aria-labelledby="rfb-recording-title">
      <header>
        <h3 id="rfb-recording-title" ref={heading} tabIndex={-1}>
          Recording: {recording.appName} of {recording.owner}, started {new Date(recording.startedAt).toLocaleString()}
        </h3>
        <button onClick={onClose}>Close player</button>
      </header>
      <RfbRecordingPlayer sessionId={recording.sessionId} brokerUrl={api.brokerUrl} token={api.token} {...(at !== undefined ? { at } : {})} />
      <div className="recording-search">
        <form role="search" aria-label="Typed keys" onSubmit={search}>
          <label>
            Find typed text <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
          </label>
          <button type="submit">Find</button>
        </form>
        <p className="error" role="alert">
          {problem ?? ''}
        </p>
        {found && (
          <div role="status">
            {found.matches.length === 0 ? (
              <p className="muted">“{found.query}” was not typed in this session.</p>
            ) : (
              <ul className="recording-matches">
                {found.matches.map((match) => (
                  <li key={match.start}>
                    <button onClick={() => setAt(Math.max(0, match.start - SEARCH_LEAD_S))}>Typed at {clockText(match.start)}</button>
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </section>
  );
}
