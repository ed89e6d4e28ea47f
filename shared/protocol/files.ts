// A session's files (docs/protocol.md#session-files): what GET /api/sessions/ID/files
// answers the session's owner — one folder of the session's home — and the error codes
// and error shape of the file calls. Paths are relative to the home and "/"-separated;
// '' is the home itself.
import { z } from 'zod';

/** At most this many entries of one folder are listed (`truncated` says when there were more). */
export const MAX_LISTED_ENTRIES = 10_000;

/** At most this many files and folders go into one zip of a selection. */
export const MAX_ZIP_ENTRIES = 10_000;
/** At most this many bytes of files go into one zip (16 GiB). */
export const MAX_ZIP_BYTES = 16 * 1024 ** 3;

export const FileEntrySchema = z.object({
  /** The entry's name, as the file system has it (any character but "/" and NUL). */
  name: z.string(),
  /** link: a symbolic link (not followed); other: a pipe, socket or device. */
  kind: z.enum(['file', 'folder', 'link', 'other']),
  /** Bytes (a link: the length of what it points to; a folder: what the file system says). */
  size: z.number().int().min(0),
  /** Last modified, ms since the epoch. */
  modifiedAt: z.number(),
});
export type FileEntry = z.infer<typeof FileEntrySchema>;

export const FileListingSchema = z.object({
  /** The folder listed, relative to the home ('' for the home itself), as the node normalised it. */
  path: z.string(),
  entries: z.array(FileEntrySchema),
  /** True when the folder holds more than MAX_LISTED_ENTRIES entries: only that many are listed. */
  truncated: z.boolean(),
  /** The administrator's words when files of this session may not be downloaded (transferPolicies), else null. Absent from nodes before it. */
  downloadOff: z.string().nullable().optional(),
  /** The same for uploads into the home. Absent from nodes before it. */
  uploadOff: z.string().nullable().optional(),
});
export type FileListing = z.infer<typeof FileListingSchema>;

/** Why a file call was refused (the `error` of its JSON answer); codes are stable API, messages are for people. */
export const FilesErrorCode = {
  unauthenticated: 'unauthenticated',
  /** No running session with that id — or another person's: both get the same answer. */
  noSuchSession: 'no_such_session',
  /** The administrator turned downloads off for this app or person (transferPolicies). */
  downloadOff: 'download_off',
  /** The file is larger than the administrator's limit (transferPolicies maxFileMiB). */
  tooLarge: 'too_large',
  /** A zip's selection holds more files and folders than one zip may (MAX_ZIP_ENTRIES). */
  tooManyFiles: 'too_many_files',
  /** `..`, an absolute path, or a path whose links lead out of the home. */
  outsideHome: 'outside_home',
  /** A path no file system can hold (a NUL, too long). */
  badPath: 'bad_path',
  noSuchFile: 'no_such_file',
  notAFolder: 'not_a_folder',
  /** A folder, pipe, socket or device: only regular files are read. */
  notAFile: 'not_a_file',
  /** The session's own user may not read it. */
  unreadable: 'unreadable',
  /** It changed while it was read (or since the ETag the client holds): download it again. */
  changed: 'changed',
  /** A Range that starts at or past the file's end (416). */
  rangeNotSatisfiable: 'range_not_satisfiable',
  /** Too many file calls on the session at once. */
  busy: 'busy',
  /** The session's files did not answer in time. */
  timeout: 'timeout',
  /** The session's sandbox is not running yet (starting) or any more (ending). */
  notReady: 'not_ready',
  /** The session is changing primary, or its primary's node is not live: try again. */
  moved: 'moved',
  noPrimary: 'no_primary',
  unreachable: 'unreachable',
  methodNotAllowed: 'method_not_allowed',
  unavailable: 'unavailable',
} as const;
export type FilesErrorCode = (typeof FilesErrorCode)[keyof typeof FilesErrorCode];

/** A refused file call's answer: the broker's JSON error shape. */
export const FilesErrorSchema = z.object({ error: z.string(), message: z.string() });
export type FilesError = z.infer<typeof FilesErrorSchema>;

/** What reading a session's home may refuse with: its code, and words for the person. */
export class SessionFileError extends Error {
  constructor(
    readonly code: FilesErrorCode,
    message: string,
  ) {
    super(message);
  }
}
