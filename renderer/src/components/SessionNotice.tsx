// The warning at the top of a session's pane before it ends on its own (its session
// policy: idle, or its maximum length), with the time left counting down. It floats
// over the app rather than pushing it down, so the app is not resized by a warning.
// Screen readers hear the broker's sentence once; the ticking clock is for the eyes.
import { useEffect, useState, type CSSProperties } from 'react';
import type { SessionNoticeView } from '../../../shared/core/index.js';

const clock = (ms: number) => {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = String(seconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
};

/** What the banner says, `msLeft` before the end. */
export function noticeWords(name: string, kind: SessionNoticeView['kind'], msLeft: number): string {
  return kind === 'idle' ? `${name} ends in ${clock(msLeft)} because it has been idle — press a key to keep it` : `${name} ends in ${clock(msLeft)}: it reaches its maximum length. Save your work.`;
}

const style: CSSProperties = {
  position: 'absolute',
  // Below the pane's End session button, which sits at its top right.
  top: '2.2rem',
  left: '50%',
  transform: 'translateX(-50%)',
  zIndex: 3,
  maxWidth: 'calc(100% - 2rem)',
  margin: 0,
  padding: '0.5rem 1rem',
  borderRadius: '8px',
  background: '#3d2e00',
  color: '#ffe9a8',
  border: '1px solid #d29922',
  boxShadow: '0 6px 20px #000a',
  fontWeight: 600,
};

export function SessionNotice({ name, notice }: { name: string; notice: SessionNoticeView | null }) {
  // The time left is read at each render, not kept in state: state set when the pane
  // mounted would show a warning that arrives later with the time left back then
  // (0:20 for a frame, seen in a test). The tick only asks for the next render.
  const [, tick] = useState(0);
  useEffect(() => {
    if (!notice) return;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [notice]);
  if (!notice) return null;
  return (
    <div className="session-notice" role="alert" style={style} data-kind={notice.kind}>
      <span className="visually-hidden">{notice.message}</span>
      <span aria-hidden="true">{noticeWords(name, notice.kind, notice.endsAt - Date.now())}</span>
    </div>
  );
}
