// A browser starts an AudioContext made before the person did anything on the page
// "suspended", and keeps it so until the page resumes it during a click, a tap or a
// key (Chromium's autoplay rule; Safari's and Firefox's are alike). A tab whose sound
// was left on starts that way after a reload: this resumes it on the page's next
// gesture, wherever it lands (the terminal, the remote screen, the tab bar).

/** What this needs of an AudioContext. */
export interface Resumable {
  readonly state: string;
  resume(): Promise<void>;
}

type Page = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;

/**
 * The events that give a page the user activation a resume needs: a mouse press
 * (pointerdown), a touch ends (pointerup), a key (keydown).
 */
const GESTURES = ['pointerdown', 'pointerup', 'keydown'] as const;

/**
 * Resumes `context` on every gesture on `page` that finds it suspended (a browser may
 * suspend it again later: an interruption, a device change). Listens in the capture
 * phase, so that a view that stops its events (a terminal, a remote screen) still
 * lets the gesture through here. Returns the way to stop.
 */
export function resumeOnGesture(context: Resumable, page: Page): () => void {
  const wake = () => {
    if (context.state === 'suspended') void context.resume().catch(() => {});
  };
  for (const gesture of GESTURES) page.addEventListener(gesture, wake, { capture: true });
  return () => {
    for (const gesture of GESTURES) page.removeEventListener(gesture, wake, { capture: true });
  };
}
