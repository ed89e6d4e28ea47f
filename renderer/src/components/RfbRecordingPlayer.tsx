// A graphical session's recording, played in noVNC: the recording holds the display's
// own RFB stream (docs/protocol.md#recordings), so noVNC draws exactly what a viewer
// saw. noVNC reads it from a playback channel (WebSocket-shaped, like RfbView's
// SessionChannel) that gives it the recorded server bytes as the playback clock reaches
// their time, and ignores what noVNC sends (its handshake answers, its update requests:
// the recording already holds the display's replies). rfb-playback.ts has the timeline
// and the clock; seeking back starts a new noVNC and feeds it from the start, at once.
//
// Standalone: the Admin page mounts it for a recording whose kind is "rfb".
import { useEffect, useRef, useState } from 'react';
import RFB, { type RfbChannel } from '@novnc/novnc';
import { AdminErrorSchema } from '../../../shared/protocol/index.js';
import { PlaybackClock, SPEEDS, Timeline, formatTime } from '../rfb-playback.js';

/** How often playback moves on (ms): well under the 200 ms between two recorded updates, so none is shown late. */
const TICK_MS = 40;

/** A WebSocket-shaped channel that plays recorded server bytes to noVNC and drops what noVNC says. */
class PlaybackChannel implements RfbChannel {
  binaryType = 'arraybuffer';
  protocol = '';
  readyState: number = 1; // WebSocket.OPEN: the recording is there already
  onopen: RfbChannel['onopen'] = null;
  onmessage: RfbChannel['onmessage'] = null;
  onerror: RfbChannel['onerror'] = null;
  onclose: RfbChannel['onclose'] = null;

  send(): void {
    // noVNC's handshake answers and update requests: the recording has the display's replies.
  }

  play(bytes: Uint8Array): void {
    if (bytes.length > 0 && this.readyState === 1) this.onmessage?.({ data: bytes.slice().buffer });
  }

  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code: 1000, reason: '', wasClean: true });
  }
}

/** The recording's file, from the admin API (GET /api/recordings/ID) with the administrator's token. */
export async function fetchRecording(brokerUrl: string, token: string | null, sessionId: string): Promise<Uint8Array> {
  if (!token) throw new Error('You are signed out; sign in again.');
  const base = brokerUrl.replace(/^ws/, 'http').replace(/\/+$/, '');
  let reply: Response;
  try {
    reply = await fetch(`${base}/api/recordings/${encodeURIComponent(sessionId)}`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  } catch {
    throw new Error('The broker did not answer; is the connection up?');
  }
  if (!reply.ok) {
    const error = AdminErrorSchema.safeParse(await reply.json().catch(() => null));
    throw new Error(error.success ? error.data.message : `The broker answered HTTP ${reply.status}.`);
  }
  return new Uint8Array(await reply.arrayBuffer());
}

/**
 * `token`: the administrator's access token, read when the recording is fetched. `at`: a
 * time to show, in s since the session started (a key search's match); playback stands
 * there, paused, once loaded, and moves there whenever `at` changes.
 */
export function RfbRecordingPlayer({ sessionId, brokerUrl, token, at }: { sessionId: string; brokerUrl: string; token: () => string | null; at?: number }) {
  const host = useRef<HTMLDivElement>(null);
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [position, setPosition] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const clock = useRef<PlaybackClock | null>(null);
  /** Moves playback to the clock's position now (set while a timeline is mounted). */
  const advance = useRef<() => void>(() => {});

  useEffect(() => {
    let gone = false;
    setTimeline(null);
    setError(null);
    fetchRecording(brokerUrl, token(), sessionId)
      .then((bytes) => !gone && setTimeline(new Timeline(bytes)))
      .catch((problem: unknown) => !gone && setError(problem instanceof Error ? problem.message : String(problem)));
    return () => void (gone = true);
    // The token is read when the recording is fetched; a new one does not fetch it again.
  }, [sessionId, brokerUrl]);

  useEffect(() => {
    const target = host.current;
    if (!timeline || !target) return;
    const playback = new PlaybackClock(timeline.durationMs);
    clock.current = playback;
    let rfb: RFB | null = null;
    let channel: PlaybackChannel | null = null;
    let fed = 0;
    let ready = false;
    /** noVNC has done its handshake: from here it reads any number of messages from one delivery. */
    let connected = false;
    const restart = () => {
      // The channel first: noVNC then ends at once (its own disconnect waits for a close that this channel would not send).
      channel?.close();
      rfb?.disconnect();
      channel = new PlaybackChannel();
      fed = 0;
      ready = false;
      connected = false;
      const next = new RFB(target, channel, { shared: true });
      next.addEventListener('connect', () => (connected = true));
      next.viewOnly = true;
      next.scaleViewport = true;
      next.focusOnClick = false;
      next.background = '#0b0f14';
      next.addEventListener('securityfailure', () => setError('The recording’s stream could not be played: noVNC refused its handshake.'));
      rfb = next;
      // noVNC reads from its channel once it has attached it: the first bytes go on the next turn.
      const mine = channel;
      setTimeout(() => {
        if (channel !== mine) return;
        ready = true;
        advance.current();
      }, 0);
    };
    advance.current = () => {
      const at = playback.position(performance.now());
      setPosition(at);
      setPlaying(playback.playing);
      if (!ready) return;
      const plan = timeline.plan(fed, at);
      if (plan.restart) return restart();
      // Until its handshake is done, noVNC reads only the handshake from a delivery and
      // leaves the rest unread until the next: the handshake's records go one by one.
      let from = plan.from;
      for (; !connected && from < plan.to; from++) channel?.play(timeline.bytes(from, from + 1));
      channel?.play(timeline.bytes(from, plan.to));
      fed = plan.to;
    };
    if (atRef.current !== undefined) playback.seek(atRef.current * 1000, performance.now());
    restart();
    const timer = setInterval(() => advance.current(), TICK_MS);
    return () => {
      clearInterval(timer);
      advance.current = () => {};
      clock.current = null;
      channel?.close();
      rfb?.disconnect();
      target.replaceChildren();
    };
  }, [timeline]);

  // A time asked for from outside (key search): read when the recording loads, and followed when it changes.
  const atRef = useRef(at);
  atRef.current = at;
  useEffect(() => {
    if (at === undefined || !clock.current) return;
    clock.current.pause(performance.now());
    clock.current.seek(at * 1000, performance.now());
    advance.current();
  }, [at]);

  const now = () => performance.now();
  const toggle = () => {
    const c = clock.current;
    if (!c) return;
    if (c.playing) c.pause(now());
    else c.play(now());
    advance.current();
  };
  const seek = (ms: number) => {
    clock.current?.seek(ms, now());
    advance.current();
  };
  const changeSpeed = (value: number) => {
    clock.current?.setSpeed(value, now());
    setSpeed(value);
  };

  const duration = timeline?.durationMs ?? 0;
  return (
    <section className="rfb-recording-player" aria-label={`Recording of session ${sessionId}`} style={{ display: 'flex', flexDirection: 'column', gap: '0.5rem', minHeight: 0 }}>
      <div ref={host} className="rfb-recording-screen" style={{ height: 'min(70vh, 800px)', minHeight: 240, display: 'flex', overflow: 'hidden', background: '#0b0f14' }} aria-label="Recorded screen" role="img" />
      <div className="session-tools" style={{ justifyContent: 'flex-start', flexWrap: 'wrap' }}>
        <button type="button" onClick={toggle} disabled={!timeline} aria-label={playing ? 'Pause' : 'Play'}>
          {playing ? 'Pause' : 'Play'}
        </button>
        <input
          type="range"
          aria-label="Position in the recording"
          min={0}
          max={Math.max(1, Math.round(duration))}
          step={100}
          value={Math.round(position)}
          aria-valuetext={`${formatTime(position)} of ${formatTime(duration)}`}
          disabled={!timeline}
          onChange={(event) => seek(Number(event.target.value))}
          style={{ flex: 1, minWidth: 160 }}
        />
        <span className="term-size" aria-live="off">
          <span data-testid="playback-time">{formatTime(position)}</span> / {formatTime(duration)}
        </span>
        <label>
          Speed{' '}
          <select value={speed} disabled={!timeline} onChange={(event) => changeSpeed(Number(event.target.value))}>
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </label>
      </div>
      {timeline?.truncated ? <p className="muted">This copy ends early: its node stopped while writing it. What it holds plays.</p> : null}
      {!timeline && !error ? <p className="muted">Loading the recording…</p> : null}
      <p className="error" role="alert">
        {error ?? ''}
      </p>
    </section>
  );
}
