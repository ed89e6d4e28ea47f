// Why a session (or one replica of it) ended, as a value: code decides on the kind,
// people read the words (`describeEnd`). Nothing parses the words back.
import type { AppExit } from '../host/app-process.js';

export type EndReason =
  /** The person ended it (session.end from their client). */
  | { kind: 'person' }
  /** An administrator ended it (the admin API). */
  | { kind: 'admin' }
  /** No client came back within the hold time. */
  | { kind: 'hold-expired'; holdSeconds: number }
  /** Its idle timeout (a session policy): attached with no input from the person for `idleSeconds`. */
  | { kind: 'idle'; appName: string; idleSeconds: number }
  /** It reached its maximum length (a session policy). */
  | { kind: 'max-length'; appName: string; maxSeconds: number }
  /** The node is shutting down and the session has no standby to go on. */
  | { kind: 'shutdown' }
  /** Its record could not be written to the control plane at launch. */
  | { kind: 'not-recorded' }
  /** This replica goes away, the session does not (stepped down, dropped, superseded): nobody is told it ended. */
  | { kind: 'replica-removed'; why: string }
  /** The app itself exited; `message` is what describeExit made of it. */
  | { kind: 'app-exit'; exit: AppExit; message: string };

/** The words a person (or the log) is given for an end that is not the app's own exit. */
export function describeEnd(reason: EndReason): string {
  switch (reason.kind) {
    case 'person':
      return 'You ended the session.';
    case 'admin':
      return 'An administrator ended this session.';
    case 'hold-expired':
      return `Your session ended: no client reconnected within ${formatDuration(reason.holdSeconds)} (the hold time).`;
    case 'idle':
      return `${reason.appName} ended because it was idle for ${inWords(reason.idleSeconds)}.`;
    case 'max-length':
      return `${reason.appName} ended because it reached its maximum length of ${inWords(reason.maxSeconds)}.`;
    case 'shutdown':
      return 'The broker node was shut down.';
    case 'not-recorded':
      return 'The session could not be recorded in the control plane.';
    case 'replica-removed':
      return `replica removed: ${reason.why}`;
    case 'app-exit':
      return reason.message;
  }
}

/** The warning before an idle or maximum-length end, `secondsLeft` before it. */
export function describeWarning(kind: 'idle' | 'max-length', appName: string, secondsLeft: number, maxSeconds: number | null): string {
  const left = inWords(secondsLeft >= 60 ? Math.round(secondsLeft / 60) * 60 : Math.max(1, Math.round(secondsLeft)));
  if (kind === 'idle') return `${appName} ends in ${left} because it has been idle — press a key to keep it.`;
  return `${appName} ends in ${left}: it reaches its maximum length${maxSeconds === null ? '' : ` of ${inWords(maxSeconds)}`}. Save your work.`;
}

/** Exits this soon after launch, before any input, mean the app could not really start. */
const EARLY_EXIT_MS = 1500;

export interface ExitContext {
  appName: string;
  /** The app's sandbox profile, named in the out-of-memory advice. */
  sandbox: string;
  /** Input the person had typed (0: none yet). */
  inputSeq: number;
  startedAt: number;
  /** A GUI display: what the app last said on its console (null: a terminal app, whose output is on screen). */
  lastWords: string | null | undefined;
}

/** What a person is told when the app exits by itself. */
export function describeExit(exit: AppExit, context: ExitContext): string {
  const name = context.appName;
  if (exit.outOfMemoryMiB !== undefined) {
    return `${name} ran out of memory: it reached the ${exit.outOfMemoryMiB} MiB its sandbox allows and was stopped. Start it again; if it needs more, ask your administrator to raise maxMemoryMiB in its sandbox profile ("${context.sandbox}").`;
  }
  if (exit.signal) return `${name} was stopped by signal ${exit.signal}.`;
  if (exit.exitCode === 0) return `${name} exited.`;
  const gui = context.lastWords !== undefined;
  // A GUI app's own run time, not the session's: its display and window manager start first.
  const ranMs = exit.ranMs ?? Date.now() - context.startedAt;
  if (context.inputSeq === 0 && ranMs < EARLY_EXIT_MS) {
    if (gui) {
      const said = context.lastWords;
      return `${name} stopped right after it started (exit code ${exit.exitCode})${said ? `: “${said}”` : ''}. Ask your administrator to check the app's command and its display.`;
    }
    return `${name} stopped right after it started (exit code ${exit.exitCode}). Its last output is shown; if it says the command was not found, ask your administrator to check the app's command.`;
  }
  const said = gui ? context.lastWords : null;
  return `${name} exited with code ${exit.exitCode}${said ? `: “${said}”` : ''}.`;
}

/** m:ss, or h:mm:ss from an hour (the default hold is hours: "480:00" would read as nothing). */
export function formatDuration(seconds: number): string {
  const ss = String(seconds % 60).padStart(2, '0');
  if (seconds < 3600) return `${Math.floor(seconds / 60)}:${ss}`;
  return `${Math.floor(seconds / 3600)}:${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}:${ss}`;
}

/** A limit as a person says it: "30 minutes", "8 hours", "1 hour 30 minutes", "45 seconds". */
export function inWords(totalSeconds: number): string {
  const seconds = Math.round(totalSeconds);
  const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  if (seconds < 60) return unit(seconds, 'second');
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor(seconds / 60) % 60;
  const rest = seconds % 60;
  const parts = [hours > 0 ? unit(hours, 'hour') : '', minutes > 0 ? unit(minutes, 'minute') : '', rest > 0 && hours === 0 ? unit(rest, 'second') : ''];
  return parts.filter(Boolean).join(' ');
}
