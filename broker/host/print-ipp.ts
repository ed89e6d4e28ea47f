// The printer a session's graphical apps see: a small IPP server on a Unix socket the
// sandbox has at /run/cups/cups.sock, where libcups looks for its server by default, so
// a GTK print dialog lists "Holdfast" beside "Print to File", and what is printed to it
// (a PDF: GTK renders one for a printer that takes them) becomes a job of the session's
// spool, as `lp`'s are (print-spool.ts). No CUPS runs: the server answers the few
// operations a dialog uses (CUPS-Get-Printers and -Default, Get-Printer-Attributes,
// Validate-Job, Print-Job, Get-Job-Attributes, Get-Jobs) and refuses the rest.
//
// The app is untrusted: the socket is its session's alone, the bodies the server holds
// are bounded (MAX_REQUEST_BYTES over all connections: past it a job is refused as too
// large), malformed messages get a 400 answer, and at most MAX_CONNECTIONS are open at once. Every replica of a session
// runs one and answers its app with the same bytes — a job is "completed" at once
// whether this replica's spool hands it on or discards it (a standby) — so lockstep
// replicas see the same dialog and the same answers.
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { MAX_JOB_BYTES } from './print-convert.js';
import { attribute, encodeAttribute, encodeResponse, GROUP, IppFormatError, OP, parseRequest, STATUS, TAG, type IppRequest } from './ipp.js';

/** Inside the sandbox: libcups's default server (CUPS_SERVER unset, no client.conf). */
export const IPP_SOCKET_DIR = '/run/cups';
export const IPP_SOCKET_NAME = 'cups.sock';
export const PRINTER_NAME = 'Holdfast';
/** A job's document at most, plus room for its attributes. */
const MAX_REQUEST_BYTES = MAX_JOB_BYTES + 64 * 1024;
const MAX_CONNECTIONS = 8;
const PRINTER_URI = `ipp://localhost/printers/${PRINTER_NAME}`;
/**
 * CUPS's printer-type bits (cups/cups.h): black and white, color, copies, collates,
 * small and medium paper, and the default — so a dialog has it chosen when it opens.
 */
const PRINTER_TYPE = 0x0004 | 0x0008 | 0x0040 | 0x0080 | 0x1000 | 0x2000 | 0x20000;
/** job-state completed (RFC 8011, 5.3.7). */
const JOB_COMPLETED = 9;
/** printer-state idle. */
const PRINTER_IDLE = 3;

export interface IppJob {
  /** The job-name the app gave ("" when none). */
  title: string;
  /** The document; null when it was over MAX_JOB_BYTES (not kept). */
  data: Buffer | null;
  size: number;
}

export class IppPrinter {
  private readonly server: Server;
  /** Job ids given so far: the same sequence on every replica. */
  private lastJob = 0;
  /** Request bodies held now: one job's worth at most, however many connections the app opens. */
  private readonly held = new Held(MAX_REQUEST_BYTES);

  private constructor(
    readonly socketPath: string,
    private readonly onJob: (job: IppJob) => void,
  ) {
    this.server = createServer({ requestTimeout: 120_000, headersTimeout: 10_000 }, (request, response) => void this.handle(request, response).catch(() => response.destroy()));
    this.server.maxConnections = MAX_CONNECTIONS;
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Listens at `socketPath` (replacing a stale socket there); anyone may connect (the sandbox runs as a uid of its own). */
  static async listen(socketPath: string, onJob: (job: IppJob) => void): Promise<IppPrinter> {
    const printer = new IppPrinter(socketPath, onJob);
    rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      printer.server.once('error', reject);
      printer.server.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o666);
    return printer;
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
    rmSync(this.socketPath, { force: true });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A PPD is asked for first; without one a dialog takes the printer's IPP attributes.
    if (request.method !== 'POST') return void response.writeHead(404, { 'Content-Type': 'text/plain' }).end('no PPD: ask for the printer\'s attributes\n');
    const body = await readBounded(request, this.held);
    if (body === null) return void response.writeHead(400).end();
    let ipp: IppRequest;
    try {
      if (body.tooLarge) {
        // The attributes are in the head: the job is named in the refusal, the document dropped.
        ipp = parseRequest(body.head);
        this.onJob({ title: String(attribute(ipp, 'job-name') ?? ''), data: null, size: body.size });
        return void answer(response, encodeResponse(ipp.requestId, STATUS.tooLarge, [], `A print job may be at most ${MAX_JOB_BYTES / 1048576} MiB.`));
      }
      ipp = parseRequest(body.head);
    } catch (error) {
      if (!(error instanceof IppFormatError)) throw error;
      return void response.writeHead(400, { 'Content-Type': 'text/plain' }).end(`not an IPP request: ${error.message}\n`);
    }
    answer(response, this.answerTo(ipp));
  }

  private answerTo(ipp: IppRequest): Buffer {
    if (ipp.major !== 1 && ipp.major !== 2) return encodeResponse(ipp.requestId, STATUS.versionNotSupported, []);
    switch (ipp.operation) {
      case OP.cupsGetPrinters:
      case OP.cupsGetDefault:
      case OP.getPrinterAttributes:
        return encodeResponse(ipp.requestId, STATUS.ok, [{ tag: GROUP.printer, attributes: printerAttributes() }]);
      case OP.cupsGetClasses:
        return encodeResponse(ipp.requestId, STATUS.notFound, []);
      case OP.validateJob:
        return encodeResponse(ipp.requestId, STATUS.ok, []);
      case OP.printJob: {
        const id = ++this.lastJob;
        this.onJob({ title: String(attribute(ipp, 'job-name') ?? ''), data: ipp.data, size: ipp.data.length });
        return encodeResponse(ipp.requestId, STATUS.ok, [{ tag: GROUP.job, attributes: jobAttributes(id) }]);
      }
      case OP.getJobAttributes: {
        const id = Number(attribute(ipp, 'job-id') ?? /\/(\d+)$/.exec(String(attribute(ipp, 'job-uri') ?? ''))?.[1]);
        if (!Number.isInteger(id) || id < 1 || id > this.lastJob) return encodeResponse(ipp.requestId, STATUS.notFound, [], 'There is no such job.');
        return encodeResponse(ipp.requestId, STATUS.ok, [{ tag: GROUP.job, attributes: jobAttributes(id) }]);
      }
      case OP.getJobs:
        // Jobs are done as soon as they come: none is ever pending.
        return encodeResponse(ipp.requestId, STATUS.ok, []);
      default:
        return encodeResponse(ipp.requestId, STATUS.notSupported, [], 'This printer only prints (Print-Job).');
    }
  }
}

function answer(response: ServerResponse, bytes: Buffer): void {
  response.writeHead(200, { 'Content-Type': 'application/ipp', 'Content-Length': bytes.length }).end(bytes);
}

/** The printer as a dialog lists it: a PDF printer of A4 and Letter; no time in it (replicas answer alike). */
function printerAttributes(): Buffer[] {
  return [
    encodeAttribute(TAG.uri, 'printer-uri-supported', PRINTER_URI),
    encodeAttribute(TAG.keyword, 'uri-security-supported', 'none'),
    encodeAttribute(TAG.keyword, 'uri-authentication-supported', 'none'),
    encodeAttribute(TAG.name, 'printer-name', PRINTER_NAME),
    encodeAttribute(TAG.text, 'printer-info', 'Holdfast: to your own printer'),
    encodeAttribute(TAG.text, 'printer-location', 'Your computer'),
    encodeAttribute(TAG.text, 'printer-make-and-model', 'Holdfast PDF'),
    encodeAttribute(TAG.enum, 'printer-state', PRINTER_IDLE),
    encodeAttribute(TAG.keyword, 'printer-state-reasons', 'none'),
    encodeAttribute(TAG.boolean, 'printer-is-accepting-jobs', true),
    encodeAttribute(TAG.integer, 'printer-type', PRINTER_TYPE),
    encodeAttribute(TAG.integer, 'queued-job-count', 0),
    encodeAttribute(TAG.mimeType, 'document-format-supported', ['application/pdf', 'application/postscript']),
    encodeAttribute(TAG.mimeType, 'document-format-default', 'application/pdf'),
    encodeAttribute(TAG.keyword, 'media-supported', ['iso_a4_210x297mm', 'na_letter_8.5x11in']),
    encodeAttribute(TAG.keyword, 'media-ready', ['iso_a4_210x297mm', 'na_letter_8.5x11in']),
    encodeAttribute(TAG.keyword, 'media-default', 'iso_a4_210x297mm'),
    encodeAttribute(TAG.keyword, 'sides-supported', 'one-sided'),
    encodeAttribute(TAG.keyword, 'sides-default', 'one-sided'),
    encodeAttribute(TAG.keyword, 'print-color-mode-supported', ['color', 'monochrome']),
    encodeAttribute(TAG.keyword, 'print-color-mode-default', 'color'),
    encodeAttribute(TAG.boolean, 'color-supported', true),
    encodeAttribute(TAG.integer, 'copies-default', 1),
    encodeAttribute(TAG.keyword, 'job-sheets-supported', 'none'),
    encodeAttribute(TAG.name, 'job-sheets-default', ['none', 'none']),
    encodeAttribute(TAG.charset, 'charset-configured', 'utf-8'),
    encodeAttribute(TAG.charset, 'charset-supported', 'utf-8'),
    encodeAttribute(TAG.language, 'natural-language-configured', 'en'),
    encodeAttribute(TAG.language, 'generated-natural-language-supported', 'en'),
    encodeAttribute(TAG.enum, 'operations-supported', [OP.printJob, OP.validateJob, OP.getJobAttributes, OP.getJobs, OP.getPrinterAttributes]),
    encodeAttribute(TAG.keyword, 'ipp-versions-supported', ['1.1', '2.0']),
    encodeAttribute(TAG.keyword, 'pdl-override-supported', 'not-attempted'),
  ];
}

function jobAttributes(id: number): Buffer[] {
  return [
    encodeAttribute(TAG.integer, 'job-id', id),
    encodeAttribute(TAG.uri, 'job-uri', `${PRINTER_URI}/${id}`),
    encodeAttribute(TAG.enum, 'job-state', JOB_COMPLETED),
    encodeAttribute(TAG.keyword, 'job-state-reasons', 'job-completed-successfully'),
  ];
}

/** Bytes of request bodies the printer holds at once, over all its connections. */
class Held {
  bytes = 0;
  constructor(readonly max: number) {}
}

/**
 * A request's body, gathered while the printer holds at most `held.max` bytes of bodies
 * in all; past that the rest is read and dropped (`tooLarge`, with the first bytes kept
 * for the attributes). Null if the client went away.
 */
function readBounded(request: IncomingMessage, held: Held): Promise<{ head: Buffer; size: number; tooLarge: boolean } | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let kept = 0;
    let tooLarge = false;
    const release = () => {
      held.bytes -= kept;
      kept = 0;
    };
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (!tooLarge && held.bytes + chunk.length <= held.max) {
        chunks.push(chunk);
        kept += chunk.length;
        held.bytes += chunk.length;
        return;
      }
      if (!tooLarge && chunks.length > 0) {
        // Only the head is kept (its attributes name the job in the refusal).
        const head = chunks[0]!;
        chunks.splice(0);
        release();
        chunks.push(head);
        kept = head.length;
        held.bytes += kept;
      }
      tooLarge = true;
    });
    request.on('end', () => {
      const head = Buffer.concat(chunks);
      release();
      resolve({ head, size, tooLarge });
    });
    request.on('error', () => (release(), resolve(null)));
    request.on('aborted', () => (release(), resolve(null)));
  });
}
