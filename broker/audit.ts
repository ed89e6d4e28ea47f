// The audit log: an append-only file of JSON lines recording who did what, from where,
// when — sign-ins (ok, failed, refused while locked), launches, attaches and resumes,
// failovers and moves, downloads of a session's files, and every administrator's
// action. Separate from the operational log (pino, stderr): it is for security review,
// kept as long as the operator wants, and written synchronously so an event is on disk
// before the node answers.
import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { escapeControls } from './log-line.js';

export type AuditEvent =
  | 'sign-in.ok'
  | 'sign-in.failed'
  | 'sign-in.refused'
  | 'sign-out'
  | 'sign-in.second-factor-enabled'
  | 'admin.revoke'
  | 'admin.totp-reset'
  | 'sign-in.refresh-reused'
  | 'sign-in.kept'
  | 'sign-in.kept-renewed'
  | 'sign-in.kept-ended'
  | 'session.launch'
  | 'session.launch-refused'
  | 'session.attach'
  | 'session.resume'
  | 'session.failover'
  | 'session.restart'
  | 'session.move'
  | 'session.download'
  | 'session.upload'
  | 'session.print'
  | 'session.share'
  | 'session.share-change'
  | 'session.share-revoke'
  | 'session.watcher-remove'
  | 'session.join'
  | 'session.join-refused'
  | 'session.shadow-request'
  | 'session.shadow-answer'
  | 'session.shadow'
  | 'session.shadow-refused'
  | 'session.microphone'
  | 'recording.start'
  | 'recording.end'
  | 'admin.drain'
  | 'admin.undrain'
  | 'admin.move'
  | 'admin.end'
  | 'admin.denied'
  | 'admin.thumbnail'
  | 'connection.refused';

export interface AuditFields {
  /** The person the event is about, or who acted. */
  user?: string | null;
  /** The client's address (for node-internal events: omitted). */
  address?: string;
  session?: string;
  app?: string;
  /** For admin actions: the node or session acted on, and the result. */
  target?: string;
  result?: string;
  /** How a person signed in, where it is not a password: "oidc" (an identity provider). */
  method?: 'oidc';
  detail?: string;
  /** A download: the file (relative to the session's home), the bytes sent from `offset` (a resume's Range start), and their SHA-256. */
  path?: string;
  bytes?: number;
  offset?: number;
  sha256?: string;
  /** A print job: the pages of its PDF, when they could be counted. */
  pages?: number;
  /** An upload: its id in the session, and the size announced (null: not known in advance). */
  upload?: number;
  size?: number | null;
  /** A download of a selection as a zip: the paths chosen and the files that went into it (`bytes` and `sha256`: the zip's). */
  paths?: string[];
  files?: number;
}

export interface AuditLog {
  record(event: AuditEvent, fields: AuditFields): void;
  close(): void;
}

/** Appends to `file` (created 0600, its directory 0700); O_APPEND, so concurrent writers never interleave a line. */
export function openAuditLog(file: string, node: string, onError: (error: unknown) => void): AuditLog {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fd = openSync(file, 'a', 0o600);
  if ((fstatSync(fd).mode & 0o077) !== 0) onError(new Error(`${file} is readable by others than its owner; chmod 600 it`));
  let failed = false;
  return {
    record(event, fields) {
      const line = escapeControls(JSON.stringify({ time: new Date().toISOString(), node, event, ...fields })) + '\n';
      try {
        writeSync(fd, line);
        failed = false;
      } catch (error) {
        // Said once per spell of failures, not once per event.
        if (!failed) onError(error);
        failed = true;
      }
    },
    close() {
      closeSync(fd);
    },
  };
}

export const noAudit: AuditLog = { record() {}, close() {} };
