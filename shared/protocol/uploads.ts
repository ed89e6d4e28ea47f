// Uploads into a session's home (docs/protocol.md#uploads): what a client sends to begin
// one, and what every upload call answers — where the upload stands. An upload is
// written by every replica of the session (it is part of the session's log), so after a
// failover the new primary answers for it, and a client resumes from its `offset`.
import { z } from 'zod';

/** POST /api/sessions/ID/uploads: where the file goes, and how large it is (null: not known; the last PATCH says Upload-Done). */
export const UploadBeginSchema = z
  .object({
    /** Relative to the home, "/"-separated; folders that are not there are made. A taken name becomes "name (1).ext". */
    path: z.string().min(1).max(4096),
    size: z.number().int().min(0).nullable().default(null),
    /** The client's own name for this upload (e.g. random): a POST repeated after a lost answer finds the upload it began. */
    key: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/).optional(),
  })
  .strict();
export type UploadBegin = z.input<typeof UploadBeginSchema>;

/** Every upload call's answer: where the upload stands. */
export const UploadStateSchema = z.object({
  /** Its id in the session (the URL's last part). */
  upload: z.number().int().min(1),
  /** Where the file goes (or went), relative to the home: the name may differ from the one asked for. */
  path: z.string(),
  size: z.number().int().min(0).nullable(),
  /** Bytes the session has taken: the next PATCH sends from here. */
  offset: z.number().int().min(0),
  /** receiving → done (the file is in place), failed or aborted (nothing is kept). */
  status: z.enum(['receiving', 'done', 'failed', 'aborted']),
  /** Why it failed or was given up, in words for the person; null otherwise. */
  error: z.string().nullable(),
  /** Of the whole file, once done. */
  sha256: z.string().nullable(),
});
export type UploadStateInfo = z.infer<typeof UploadStateSchema>;

/** PATCH headers: where the bytes start (must be the upload's offset), and that they are the last. */
export const UPLOAD_OFFSET_HEADER = 'upload-offset';
export const UPLOAD_DONE_HEADER = 'upload-done';

/** Why an upload call was refused: a stable code (the JSON `error`), an HTTP status, words for the person; `offset` for a resume at the wrong place. */
export class UploadError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly offset?: number,
  ) {
    super(message);
  }
}
