// What a session's app prints, from its spool (print-spool.ts) to its person: on the
// primary only — a standby runs the same app and prints the same job, which is
// discarded, so a job reaches the client once — each job is checked against the
// transfer policy (read when the job comes: a reload applies at once), converted to a
// PDF (print-convert.ts, child processes), kept among the session's last MAX_KEPT
// and announced to the attached client (or to the next one that attaches). Every job
// is one `session.print` audit event: printed, refused or failed, with its SHA-256.
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { AuditFields } from '../audit.js';
import { convertToPdf, PrintConvertError, MAX_JOB_BYTES } from './print-convert.js';
import { PrintSpool, type SpooledJob } from './print-spool.js';

/** Jobs a session keeps (their PDFs); an older one is removed when a new one comes. */
export const MAX_KEPT = 20;
/** Jobs of a session read and waiting for (or in) conversion at once; more are discarded unread. */
export const MAX_PENDING = 4;

/** A PDF the person may fetch (GET /api/sessions/ID/print/JOB). */
export interface PrintJob {
  id: string;
  /** Its title, or the app's name: what the PDF is called ("Shell.pdf"). */
  name: string;
  size: number;
  pages: number | null;
  sha256: string;
  createdAt: number;
  /** The PDF on this node (the spool's pdf directory). */
  path: string;
}

/** What the client is told of a job, in words. */
export type PrintEvent = { result: 'printed'; job: PrintJob; message: string } | { result: 'refused' | 'failed'; job: null; message: string };

/** What a session's printing needs from the node (the registry supplies it). */
export interface PrintingDeps {
  /** Whether the session's person may receive what its app prints (transferPolicies[].print), asked at each job. */
  allowed(appId: string, owner: string): boolean;
  audit(fields: AuditFields): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

export interface SessionPrintingOptions {
  stateDir: string;
  sessionId: string;
  owner: string;
  app: { id: string; name: string };
  /** Whether this replica is the session's primary now. */
  isPrimary: () => boolean;
  /** Tell the attached client; false when none is attached (the event is kept for the next). */
  tell: (event: PrintEvent) => boolean;
  deps: PrintingDeps;
}

export class SessionPrinting {
  readonly spool: PrintSpool;
  private readonly jobs: PrintJob[] = [];
  /** Told to no client yet (none was attached). */
  private untold: PrintEvent[] = [];
  private closed = false;
  /** Jobs read and not yet converted (their bytes are in memory). */
  private pending = 0;
  /** The person was told jobs are being discarded for want of room; not again until there is room. */
  private toldBusy = false;

  constructor(private readonly options: SessionPrintingOptions) {
    this.spool = new PrintSpool(options.stateDir, options.sessionId);
  }

  /** The sandbox started (its spool bound): take jobs from here on. */
  start(): void {
    if (!this.closed) this.spool.watch((job) => void this.take(job), () => (this.options.isPrimary() ? MAX_PENDING - this.pending : 0));
  }

  /** A kept job by id, or undefined. */
  job(id: string): PrintJob | undefined {
    return this.jobs.find((job) => job.id === id);
  }

  /** A client attached: what it missed while none was. */
  attached(): void {
    const untold = this.untold;
    this.untold = [];
    for (const event of untold) this.tell(event);
  }

  /** The session ended: its spool and PDFs go. */
  close(): void {
    this.closed = true;
    this.jobs.length = 0;
    this.untold = [];
    this.spool.close();
  }

  private tell(event: PrintEvent): void {
    if (!this.options.tell(event)) this.untold = [...this.untold, event].slice(-MAX_KEPT);
  }

  private async take(spooled: SpooledJob): Promise<void> {
    const { app, owner, sessionId, deps } = this.options;
    // The primary's job is the one; a standby's is the same job again.
    if (this.closed || !this.options.isPrimary()) return;
    const name = spooled.title || app.name;
    const audit = (fields: AuditFields) => deps.audit({ user: owner, session: sessionId, app: app.id, path: name, bytes: spooled.size, ...fields });
    if (!deps.allowed(app.id, owner)) {
      audit({ result: 'refused', detail: 'transferPolicies: print is off' });
      return this.tell({ result: 'refused', job: null, message: `${app.name} tried to print, but printing is turned off for ${app.name} by your administrator. Save the document in your home folder and download it from Files instead.` });
    }
    if (spooled.refused === 'busy') {
      audit({ result: 'failed', detail: `discarded unread: ${MAX_PENDING} jobs were still being converted` });
      if (this.toldBusy) return;
      this.toldBusy = true;
      return this.tell({ result: 'failed', job: null, message: `${app.name} printed faster than its jobs could be turned into PDFs, so some were discarded. Wait for the ones under way, then print what is missing again.` });
    }
    if (spooled.data === null) {
      const large = spooled.refused === 'too_large';
      const why = large ? `it is larger than ${MAX_JOB_BYTES / 1048576} MiB` : 'it was not a regular file';
      const next = large ? 'Print fewer pages at a time, or save it as a PDF and download it from Files.' : `Print it again with ${app.name}’s own print command (lp or lpr).`;
      audit({ result: 'failed', detail: why });
      return this.tell({ result: 'failed', job: null, message: `${app.name} printed something that could not be turned into a PDF: ${why}. ${next}` });
    }
    const id = randomBytes(12).toString('base64url');
    this.pending++;
    try {
      const pdf = await convertToPdf(spooled.data, { workDir: this.spool.pdfDir, name: `${id}.pdf` });
      if (this.closed) {
        rmSync(pdf.path, { force: true });
        return audit({ result: 'failed', detail: 'the session ended before its PDF was made' });
      }
      const job: PrintJob = { id, name, size: pdf.size, pages: pdf.pages, sha256: pdf.sha256, createdAt: Date.now(), path: pdf.path };
      this.keep(job);
      audit({ result: 'printed', sha256: pdf.sha256, ...(pdf.pages === null ? {} : { pages: pdf.pages }), detail: `${pdf.size} bytes of PDF` });
      const pages = pdf.pages === null ? '' : ` (${pdf.pages} ${pdf.pages === 1 ? 'page' : 'pages'})`;
      this.tell({ result: 'printed', job, message: `${app.name} printed a document${pages}.` });
    } catch (error) {
      // Its spool went with the session while it was converted: nothing went wrong but the timing.
      if (this.closed) return audit({ result: 'failed', detail: 'the session ended before its PDF was made' });
      const why = error instanceof PrintConvertError ? error.message : String(error);
      if (!(error instanceof PrintConvertError)) deps.warn('a print job could not be converted', { session: sessionId, error: why });
      audit({ result: 'failed', detail: why.slice(0, 300) });
      const next = error instanceof PrintConvertError && error.problem === 'not_a_document' ? 'Print it as PDF, PostScript or plain text.' : 'Try printing it again; if it fails again, save it as a PDF and download it from Files.';
      this.tell({ result: 'failed', job: null, message: `${app.name} printed something that could not be turned into a PDF: ${why}. ${next}` });
    } finally {
      this.pending--;
      if (this.pending === 0) this.toldBusy = false;
    }
  }

  private keep(job: PrintJob): void {
    this.jobs.push(job);
    while (this.jobs.length > MAX_KEPT) rmSync(this.jobs.shift()!.path, { force: true });
  }
}
