// One open session as the UI holds it: a tab of App's, drawn by a TerminalView or an
// RfbView inside a SessionFrame. It lives apart from App.tsx so that App and the
// components that draw a tab both import it, and neither imports the other back.
import type { AppInfo } from '../../shared/protocol/index.js';
import type { SessionStream } from '../../shared/core/index.js';

export interface SessionTab {
  key: string;
  name: string;
  /** terminal: xterm.js; rfb: noVNC. */
  display: AppInfo['display'];
  stream: SessionStream;
}
