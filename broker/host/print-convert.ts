// Turns what an app printed into a PDF, in child processes, never on the node's event
// loop: PostScript and PDF through Ghostscript (`gs -dSAFER`, pdfwrite: a PDF comes out
// rewritten, so the client only ever opens what Ghostscript wrote), plain text through
// enscript first (text → PostScript, Latin-1: characters outside it print as "?").
// The converters parse what an app wrote, so they get as little as can be: pipes, not
// files; nobody's uid when the node is root; a deadline, at which they are killed (their
// whole process group), and a cap on what they write. At most two conversions run at
// once on a node, the rest wait their turn. Input that is none of the three is refused
// before anything runs.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The most a print job may be, as the app wrote it (docs/operations.md, "Printing"). */
export const MAX_JOB_BYTES = 64 * 1024 * 1024;
/** The most a PDF made of it may be. */
export const MAX_PDF_BYTES = 128 * 1024 * 1024;
/** How long one conversion step may take before it is killed. */
export const CONVERT_DEADLINE_MS = 30_000;
/** Conversions running at once on a node (the machine's other work goes on). */
const AT_ONCE = 2;

export type JobKind = 'postscript' | 'pdf' | 'text';

export type PrintProblem = 'not_a_document' | 'too_large' | 'conversion_failed' | 'timeout';

export class PrintConvertError extends Error {
  constructor(
    readonly problem: PrintProblem,
    message: string,
  ) {
    super(message);
    this.name = 'PrintConvertError';
  }
}

export interface ConvertedPdf {
  /** The PDF's path (in the work directory given). */
  path: string;
  size: number;
  /** Counted in the PDF Ghostscript wrote; null when it could not be told. */
  pages: number | null;
  sha256: string;
}

/** What the job is, by its first bytes: PostScript, PDF, plain text (UTF-8 or Latin-1, no control characters but layout ones), or null. */
export function jobKind(data: Buffer): JobKind | null {
  const start = documentStart(data);
  const head = data.subarray(start, start + 8).toString('latin1');
  if (head.startsWith('%PDF-')) return 'pdf';
  if (head.startsWith('%!') || head.startsWith('\x04%!')) return 'postscript';
  if (data.length === 0) return null;
  // Tab, newline, form feed, carriage return and backspace (overstrike) are layout; anything else below space is not text.
  for (const byte of data) if ((byte < 0x20 && byte !== 9 && byte !== 10 && byte !== 12 && byte !== 13 && byte !== 8) || byte === 0x7f) return null;
  return 'text';
}

/** Where the document starts: after a PJL header (what many drivers put before the PostScript), else at 0. */
function documentStart(data: Buffer): number {
  if (!data.subarray(0, 9).toString('latin1').startsWith('\x1b%-12345X')) return 0;
  const at = data.indexOf('%!');
  return at < 0 ? 0 : at;
}

/** Text as enscript reads it (Latin-1): UTF-8 decoded, characters beyond Latin-1 as "?". */
export function latin1(text: Buffer): Buffer {
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(text);
  return Buffer.from(decoded.replace(/[^\u0000-\u00ff]/gu, '?'), 'latin1');
}

/** Waits for a free slot among the node's conversions. */
class Slots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= AT_ONCE) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
const slots = new Slots();

/** The user conversions run as when the node is root: nobody, with no groups and no capabilities. */
const NOBODY = 65534;

/**
 * Runs a converter on `input` (its standard input) and gives back its standard output:
 * as nobody when the node is root, under prlimit (address space, no core files), in its
 * own process group, killed with anything it started at the deadline or once it writes
 * more than `maxOutput`. Rejects with its last words on failure.
 */
function run(command: string, args: string[], input: Buffer, deadlineMs: number, maxOutput: number): Promise<Buffer> {
  const drop = process.getuid?.() === 0 ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', '--'] : [];
  const argv = [...drop, 'prlimit', `--as=${2 * 1024 * 1024 * 1024}`, '--core=0', '--', command, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd: '/', env: { PATH: '/usr/bin:/bin', LANG: 'C', TMPDIR: '/tmp' } });
    const chunks: Buffer[] = [];
    let size = 0;
    let said = '';
    let stopped: 'timeout' | 'too_large' | null = null;
    const stop = (why: 'timeout' | 'too_large') => {
      stopped ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone already */
      }
    };
    const timer = setTimeout(() => stop('timeout'), deadlineMs);
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxOutput) return stop('too_large');
      chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => (said = (said + chunk.toString('utf8')).slice(-400)));
    // A converter that stops reading (it failed, or was killed) must not fail the node's write.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new PrintConvertError('conversion_failed', `${command} could not run (${error.message}); ask your administrator to install it.`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (stopped === 'timeout') return reject(new PrintConvertError('timeout', `${command} did not finish within ${Math.round(deadlineMs / 1000)} s and was stopped`));
      if (stopped === 'too_large') return reject(new PrintConvertError('too_large', `what ${command} made is over ${Math.round(maxOutput / 1048576)} MiB`));
      if (code === 0) return resolve(Buffer.concat(chunks));
      reject(new PrintConvertError('conversion_failed', `${command} failed (${signal ?? `exit ${code}`})${said.trim() ? `: ${said.trim().split('\n').pop()}` : ''}`));
    });
  });
}

export interface ConvertOptions {
  /** A directory of the node's own (not the sandbox's) where the PDF is written. */
  workDir: string;
  /** The PDF's file name in it. */
  name: string;
  deadlineMs?: number;
}

/** The job as a PDF, or PrintConvertError saying why not. Nothing but the PDF touches the disk (the converters read and write pipes). */
export async function convertToPdf(job: Buffer, options: ConvertOptions): Promise<ConvertedPdf> {
  if (job.length > MAX_JOB_BYTES) throw new PrintConvertError('too_large', `the job is ${Math.ceil(job.length / 1048576)} MiB; at most ${MAX_JOB_BYTES / 1048576} MiB can be printed`);
  const kind = jobKind(job);
  if (kind === null) throw new PrintConvertError('not_a_document', 'it is not PostScript, PDF or plain text');
  const deadline = options.deadlineMs ?? CONVERT_DEADLINE_MS;
  const output = join(options.workDir, options.name);
  return slots.run(async () => {
    let source = kind === 'text' ? latin1(job) : job.subarray(documentStart(job));
    // -B: no page headers (they would carry the node's time); -o -: PostScript to stdout.
    if (kind === 'text') source = await run('enscript', ['-q', '-B', '-X', '88591', '-o', '-'], source, deadline, MAX_JOB_BYTES * 4);
    // -dSAFER: the job's PostScript may open no file (Ghostscript's own temporary ones aside).
    const pdf = await run('gs', ['-q', '-dSAFER', '-dBATCH', '-dNOPAUSE', '-dNOPROMPT', '-sDEVICE=pdfwrite', '-sOutputFile=-', '-'], source, deadline, MAX_PDF_BYTES);
    if (pdf.length === 0 || !pdf.subarray(0, 5).equals(Buffer.from('%PDF-'))) throw new PrintConvertError('conversion_failed', 'Ghostscript made no PDF of it (the job has no pages)');
    await writeFile(output, pdf, { mode: 0o600 });
    return { path: output, size: pdf.length, pages: pageCount(pdf), sha256: createHash('sha256').update(pdf).digest('hex') };
  });
}

/** Pages of a PDF Ghostscript wrote (its page objects are plain, not in object streams); null if none are found. */
export function pageCount(pdf: Buffer): number | null {
  const found = pdf.toString('latin1').match(/\/Type\s*\/Page(?![A-Za-z])/g);
  return found ? found.length : null;
}
