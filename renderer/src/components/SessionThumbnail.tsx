// A running session's live picture in the launcher's list: its terminal's rows as tiny
// monospace text, or its screen scaled down; the app's icon until there is one (or if
// there cannot be). Refreshed every few seconds while the page is visible, never asked
// for while it is hidden. Decorative: the entry's words already name the session.
import { useEffect, useState, type ReactNode } from 'react';
import type { HoldfastClient } from '../../../shared/core/index.js';
import type { Thumbnail } from '../../../shared/protocol/index.js';
import { fetchThumbnail } from '../thumbnail-api.js';

export const THUMBNAIL_REFRESH_MS = 5000;
/** A terminal cell's shape in the picture, in font sizes: monospace glyphs are about 0.6 wide, lines 1.2 apart (the baseline 0.9 down). */
const CELL_WIDTH = 0.6;
const LINE_HEIGHT = 1.2;
/** A terminal's picture is never zoomed in further than this many columns across. */
const MIN_COLS = 40;

export function SessionThumbnail({ client, sessionId, fallback }: { client: HoldfastClient | null; sessionId: string; fallback: ReactNode }) {
  const [thumbnail, setThumbnail] = useState<Thumbnail | null>(null);

  useEffect(() => {
    if (!client) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: AbortController | null = null;
    const load = async () => {
      clearTimeout(timer);
      if (stopped || document.visibilityState !== 'visible') return;
      inFlight?.abort();
      const controller = (inFlight = new AbortController());
      const next = await fetchThumbnail(client, sessionId, controller.signal);
      if (stopped || controller.signal.aborted) return;
      // A failure keeps the last picture (seconds old); with none yet, the icon stays.
      if (next) setThumbnail(next);
      timer = setTimeout(() => void load(), THUMBNAIL_REFRESH_MS);
    };
    const onVisibility = () => void load();
    document.addEventListener('visibilitychange', onVisibility);
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
      inFlight?.abort();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [client, sessionId]);

  return (
    <span className={`thumbnail${thumbnail ? ` thumbnail-${thumbnail.kind}` : ''}`} aria-hidden="true">
      {thumbnail === null ? fallback : thumbnail.kind === 'image' ? <img src={`data:image/png;base64,${thumbnail.png}`} alt="" width={thumbnail.width} height={thumbnail.height} /> : <TerminalText {...thumbnail} />}
    </span>
  );
}

/**
 * A terminal's rows, drawn to scale in an SVG: the whole screen fits the box whatever its
 * size. A screen mostly empty (a prompt at the top) is shown from its top-left corner as
 * far as its text goes, but at least MIN_COLS across: the same shape, larger text.
 */
function TerminalText({ cols, rows, text }: { cols: number; rows: number; text: string }) {
  const lines = text.split('\n').slice(0, rows);
  const usedRows = lines.reduce((last, line, y) => (line === '' ? last : y + 1), 0);
  const usedCols = Math.max(0, ...lines.map((line) => line.length));
  const shown = Math.min(1, Math.max(MIN_COLS / cols, usedRows / rows, usedCols / cols));
  return (
    <svg viewBox={`0 0 ${cols * shown * CELL_WIDTH} ${rows * shown * LINE_HEIGHT}`} preserveAspectRatio="xMinYMin meet">
      {lines.map((line, y) =>
        line === '' ? null : (
          <text key={y} x={0} y={y * LINE_HEIGHT + 0.9} fontSize={1} textLength={line.length * CELL_WIDTH} lengthAdjust="spacingAndGlyphs">
            {line}
          </text>
        ),
      )}
    </svg>
  );
}
