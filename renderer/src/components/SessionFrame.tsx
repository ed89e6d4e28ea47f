// What every session view shares, whatever it draws: the starting and failed notes
// (with Retry), an End button that asks first, the reconnecting overlay over the dimmed
// last screen (how long the session is kept, what typing waits to be sent, a way to
// retry at once), and, once it is over, why — with the next step: Relaunch and Close,
// or Take it back when another device opened it.
import { useEffect, useState, type ReactNode } from 'react';
import type { SessionView, ShadowAskView } from '../../../shared/core/index.js';
import type { SessionTab } from '../session-tab.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { SessionNotice } from './SessionNotice.js';
import { ChordKeys } from './KeyboardSettings.js';
import { FilesPanel } from './FilesPanel.js';
import { PrintNotice } from './PrintNotice.js';
import { DropZone } from './DropZone.js';
import { UploadTray, useUploadQueue } from './UploadTray.js';
import { SharePanel } from './SharePanel.js';
import { SoundButton } from './SoundButton.js';
import { MicrophoneButton } from './MicrophoneButton.js';

export function useView(tab: SessionTab): SessionView {
  const [view, setView] = useState(tab.stream.view);
  useEffect(() => tab.stream.subscribe(setView), [tab.stream]);
  return view;
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/** 3:05, or 1:02:05 past an hour. */
export const clock = (ms: number) => {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = `${String(seconds % 60).padStart(2, '0')}`;
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
};

const timeOfDay = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** Why it ended, in words; the exit code only where it says something (a crash, an error status). */
function endedWords(view: SessionView): string | null {
  if (view.exitCode === null || view.exitCode <= 0) return null;
  if (view.exitCode > 128) return `It was stopped by signal ${view.exitCode - 128}.`;
  return `It exited with code ${view.exitCode}.`;
}

/** `escapeKeys`: the keys that leave the app for the tabs, as this device has them (preferences.ts). */
/** `tools`: the view's own controls, shown with the session's (a GUI session's All screens). */
export function SessionFrame({ tab, visible, escapeKeys, tools, children }: { tab: SessionTab; visible: boolean; escapeKeys: readonly string[]; tools?: ReactNode; children: ReactNode }) {
  const { stream, actions } = tab;
  const view = useView(tab);
  const [confirming, setConfirming] = useState(false);
  const [sharingOpen, setSharingOpen] = useState(false);
  // Watching someone else's session through a share link: no files, no ending it, no sharing it on.
  const watching = view.watching;
  const joined = tab.link !== undefined || tab.shadowOf !== undefined;
  const shadowers = (view.sharing?.watchers ?? []).filter((w) => w.shadow);
  const watcherCount = view.sharing?.watchers.length ?? 0;
  const down = view.status === 'reconnecting' || view.status === 'resuming';
  const over = view.status === 'ended';
  const live = view.status === 'streaming' || down;
  const now = useNow(down);
  const uploads = useUploadQueue(tab.client, live && !joined ? view.sessionId : null);
  return (
    <section className={`session${down ? ' down' : ''}${over ? ' over' : ''}`} hidden={!visible} aria-label={`${tab.name} session`} data-status={view.status} data-echo={view.echo ?? undefined}>
      {view.status === 'launching' && (
        <p className="muted session-note" role="status">
          {tab.shadowOf ? `Asking ${tab.shadowOf.person} to let you ${tab.shadowOf.control ? 'view and control' : 'view'} it…` : `Starting ${tab.name}…`}
        </p>
      )}
      {view.status === 'failed' && (
        <div className="session-note session-failed" role="alert">
          <p className="error">{tab.shadowOf ? `You cannot view ${tab.name}: ${view.reason}` : joined ? `The shared session could not be opened: ${view.reason}` : `${tab.name} could not start: ${view.reason}`}</p>
          <div className="actions">
            <button className="primary" onClick={actions.relaunch}>
              Retry
            </button>
            <button onClick={actions.close}>Close tab</button>
          </div>
        </div>
      )}
      {live && joined && (
        <div className="session-tools watching-bar" role="status">
          <span>
            {watching ? (
              <>
                {tab.shadowOf ? 'Viewing as an administrator' : 'Watching'} <strong>{watching.ownerName}</strong>’s {watching.appName} — {watching.mode === 'type' ? 'you can type' : 'view only: your keys do not reach it'}
              </>
            ) : (
              'Joining…'
            )}
          </span>
          {watching?.message && <span className="muted">{watching.message}</span>}
          <button className="quiet" onClick={actions.close}>
            Stop watching
          </button>
        </div>
      )}
      {live && !joined && (
        <div className="session-tools">
          <span className="muted hint">
            <ChordKeys keys={escapeKeys} /> back to the tabs
          </span>
          {watcherCount > 0 && (
            <span className="watching-badge" role="status" title="People watching this session through a link you shared">
              {watcherCount} watching
            </span>
          )}
          {view.recorded && (
            <span className="recorded" title={`${tab.name} is recorded: what it shows and what you type are kept for your administrators, as their policy says.`}>
              ● Recorded
            </span>
          )}
          {tab.sound && <SoundButton stream={stream} appId={tab.appId} appName={tab.name} />}
          {tab.sound && <MicrophoneButton stream={stream} appName={tab.name} />}
          {tools}
          {view.sessionId && <FilesPanel key={view.sessionId} client={tab.client} sessionId={view.sessionId} appName={tab.name} uploads={uploads} />}
          <button className="quiet" onClick={() => setSharingOpen(true)} disabled={view.status !== 'streaming'}>
            Share…
          </button>
          <button className="quiet" onClick={() => setConfirming(true)}>
            End session
          </button>
        </div>
      )}
      {live && !joined && shadowers.length > 0 && (
        <p className="shadow-banner" role="status">
          {shadowers.map((w) => `Administrator ${w.displayName} is ${w.mode === 'type' ? 'viewing and can type into' : 'viewing'} this session.`).join(' ')} Open Share… to stop them.
        </p>
      )}
      {view.shadowAsk && <ShadowQuestion ask={view.shadowAsk} appName={tab.name} onAnswer={(allow) => stream.answerShadow(view.shadowAsk!.requestId, allow)} />}
      {sharingOpen && <SharePanel stream={stream} view={view} appName={tab.name} onClose={() => setSharingOpen(false)} />}
      {view.status === 'streaming' && <SessionNotice name={tab.name} notice={view.notice} />}
      {live && !joined && view.sessionId && <PrintNotice client={tab.client} sessionId={view.sessionId} prints={view.prints} />}
      {live && <UploadTray queue={uploads} />}
      {/* Once over, the last screen is only a picture of what was: inert, and hidden from assistive technology (the words below say what happened). */}
      <div className="session-screen" inert={over} aria-hidden={over || undefined}>
        <DropZone queue={live ? uploads : null} appName={tab.name}>
          {children}
        </DropZone>
      </div>
      {down && (
        <div className="reconnecting" role="status" aria-live="polite">
          <p className="reconnecting-title">Reconnecting — what you type is kept and will be sent</p>
          <p className="muted">
            {view.holdDeadline !== null && <>{tab.name} is kept for you for {clock(view.holdDeadline - now)} more. </>}
            {view.status === 'resuming' ? `Trying now (attempt ${view.attempt}).` : view.nextTryAt ? `Next try in ${clock(view.nextTryAt - now)}.` : ''}
          </p>
          {view.lastError && <p className="muted">Last try: {view.lastError}</p>}
          {view.pendingInputs > 0 && (
            <p className="pending">
              {view.pendingInputs} {view.pendingInputs === 1 ? 'keystroke is' : 'keystrokes are'} waiting to be sent
            </p>
          )}
          <button className="primary" onClick={() => stream.retryNow()} disabled={view.status === 'resuming'}>
            Reconnect now
          </button>
        </div>
      )}
      {over && view.displacedAt !== null && (
        <div className="session-ended" role="status">
          <p>
            <strong>Opened on another device at {timeOfDay(view.displacedAt)}.</strong> {tab.name} is still running there.
          </p>
          <div className="actions">
            <button className="primary" onClick={actions.takeBack}>
              Take it back
            </button>
            <button onClick={actions.close}>Close tab</button>
          </div>
        </div>
      )}
      {over && joined && (
        <div className="session-ended" role="status">
          <p>
            <strong>You are no longer watching {watching ? `${watching.ownerName}’s ${watching.appName}` : tab.name}.</strong> {view.reason}
          </p>
          <div className="actions">
            <button className="primary" onClick={actions.close}>
              Close tab
            </button>
          </div>
        </div>
      )}
      {over && !joined && view.displacedAt === null && (
        <div className="session-ended" role="status">
          <p>
            {/* The broker's words may name the app already ("Python ended because it was idle…"). */}
            {view.reason?.startsWith(`${tab.name} `) ? (
              <strong>{view.reason}</strong>
            ) : (
              <>
                <strong>{tab.name} ended.</strong> {view.reason}
              </>
            )}
          </p>
          {endedWords(view) && <p className="muted">{endedWords(view)}</p>}
          <div className="actions">
            <button className="primary" onClick={actions.relaunch}>
              Relaunch {tab.name}
            </button>
            <button onClick={actions.close}>Close tab</button>
          </div>
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title={`End ${tab.name}?`}
          message={`Unsaved work in it is lost. To leave ${tab.name} running and come back later, close the tab instead.`}
          choices={[{ label: `End ${tab.name}`, danger: true, onChoose: () => (setConfirming(false), actions.end()) }]}
          onCancel={() => setConfirming(false)}
        />
      )}
    </section>
  );
}

/** An administrator asks to view the session: Allow or Deny, with the time left to answer and what silence means. */
function ShadowQuestion({ ask, appName, onAnswer }: { ask: ShadowAskView; appName: string; onAnswer: (allow: boolean) => void }) {
  const now = useNow(true);
  return (
    <ConfirmDialog
      title={`Administrator ${ask.adminName} wants to ${ask.control ? 'view and control' : 'view'} your ${appName} session`}
      message={`${ask.control ? 'They would see what you see and could type into it.' : 'They would see what you see; they could not type.'} You see a banner while they do, and can stop them at any time. ${ask.onTimeout === 'allow' ? 'If you do not answer' : 'Unanswered, it is refused'} in ${clock(ask.endsAt - now)}${ask.onTimeout === 'allow' ? ', it is allowed (your organisation’s policy).' : '.'}`}
      // Deny first, with the focus: Enter (or Escape) never lets someone in by accident.
      choices={[
        { label: 'Deny', onChoose: () => onAnswer(false) },
        { label: 'Allow', onChoose: () => onAnswer(true) },
      ]}
      cancel={null}
      onCancel={() => onAnswer(false)}
    />
  );
}
