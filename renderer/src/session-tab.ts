// One open session as the UI holds it: a tab of App's, drawn by a TerminalView or an
// RfbView inside a SessionFrame. It lives apart from App.tsx so that App and the
// components that draw a tab both import it, and neither imports the other back.
import type { AppInfo } from '../../shared/protocol/index.js';
import type { HoldfastClient, SessionStream } from '../../shared/core/index.js';

export interface SessionTab {
  key: string;
  name: string;
  appId: string;
  /** Its app plays sound: the tab offers it (docs/protocol.md#sound). */
  sound?: boolean;
  /** terminal: xterm.js; rfb: noVNC; pending: someone else's session, until joining says which. */
  display: AppInfo['display'] | 'pending';
  stream: SessionStream;
  /** The signed-in client, for the broker's HTTP API about this session (its files). */
  client: HoldfastClient;
  /** What a person can do with the tab, whatever draws it (App supplies them). */
  actions: SessionActions;
  /** Someone else's session, watched through this share link (docs/protocol.md#sharing-a-session). */
  link?: string;
  /** Someone else's session, viewed by an administrator with its person's consent (docs/protocol.md#shadowing). */
  shadowOf?: { sessionId: string; person: string; control: boolean };
  /** The app's own title for its window (a terminal's OSC 0/2), once it set one: the tab shows it. */
  title?: string;
}

export interface SessionActions {
  /** Ends the session on the broker, after the person confirmed. */
  end(): void;
  /** Starts the same app again in this tab (after it ended or failed to start). */
  relaunch(): void;
  /** Opens the session here again after another device took it. */
  takeBack(): void;
  /** Closes the tab: a running session keeps running (disconnect). */
  close(): void;
  /** The app named its window (terminal title, X11 window name). */
  titled(title: string): void;
}
