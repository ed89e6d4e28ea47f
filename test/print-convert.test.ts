// Turning print jobs into PDFs (broker/host/print-convert.ts) with the real Ghostscript
// and enscript: PostScript, PDF and text become PDFs; anything else is refused before a
// program runs; a job that loops forever is killed at its deadline while another job
// converts meanwhile; -dSAFER (and nobody's uid) keep a job from reading the node's files.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PrintConvertError, convertToPdf, jobKind } from '../broker/host/print-convert.js';

const work = mkdtempSync(join(tmpdir(), 'holdfast-print-convert-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const text = (path: string) => execFileSync('pdftotext', [path, '-'], { encoding: 'utf8' });
const ps = (body: string) => Buffer.from(`%!PS\n/Helvetica findfont 20 scalefont setfont\n${body}\n`);
let n = 0;
const convert = (job: Buffer, deadlineMs?: number) => convertToPdf(job, { workDir: work, name: `job-${++n}.pdf`, ...(deadlineMs ? { deadlineMs } : {}) });

describe('print jobs to PDF', () => {
  it('tells PostScript, PDF and text from anything else', () => {
    expect(jobKind(Buffer.from('%!PS-Adobe-3.0\n'))).toBe('postscript');
    expect(jobKind(Buffer.from('\x1b%-12345X@PJL ENTER LANGUAGE=POSTSCRIPT\n%!PS\n'))).toBe('postscript');
    expect(jobKind(Buffer.from('%PDF-1.7\n'))).toBe('pdf');
    expect(jobKind(Buffer.from('hello\tworld\r\n\fpage two, café\n'))).toBe('text');
    expect(jobKind(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]))).toBeNull();
    expect(jobKind(Buffer.alloc(0))).toBeNull();
  });

  it('makes a PDF of PostScript behind a PJL header, of text (Latin-1 kept, the rest as ?) and of a PDF, counting pages', async () => {
    const fromPs = await convert(Buffer.concat([Buffer.from('\x1b%-12345X@PJL JOB\n'), ps('72 700 moveto (first) show showpage 72 700 moveto (second) show showpage')]));
    expect(fromPs.pages).toBe(2);
    expect(text(fromPs.path)).toMatch(/first[\s\S]*second/);
    const fromText = await convert(Buffer.from('naïve café ☃\n'));
    expect(text(fromText.path)).toContain('naïve café ?');
    const fromPdf = await convert(readFileSync(fromPs.path));
    expect([fromPdf.pages, text(fromPdf.path).includes('second')]).toEqual([2, true]);
    expect(fromPdf.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses what is not a document, and fails in words on broken PostScript and on reading files (-dSAFER)', async () => {
    await expect(convert(Buffer.from([0, 1, 2, 3]))).rejects.toMatchObject({ problem: 'not_a_document' });
    await expect(convert(ps('72 700 moveto (x) show nosuchoperator showpage'))).rejects.toMatchObject({ problem: 'conversion_failed', message: expect.stringMatching(/^gs failed/) });
    await expect(convert(ps('(/etc/passwd) (r) file 100 string readstring pop 72 700 moveto show showpage'))).rejects.toMatchObject({ problem: 'conversion_failed' });
    // Nothing of a failed job is left behind.
    expect(readdirSync(work).filter((name) => !name.endsWith('.pdf'))).toEqual([]);
  });

  it('kills a job that never ends at its deadline; another converts meanwhile', async () => {
    const started = Date.now();
    const looping = convert(ps('{ 1 pop } loop'), 2000).catch((error: unknown) => error);
    const other = await convert(ps('72 700 moveto (meanwhile) show showpage'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(text(other.path)).toContain('meanwhile');
    const error = await looping;
    expect(error).toBeInstanceOf(PrintConvertError);
    expect(error).toMatchObject({ problem: 'timeout', message: 'gs did not finish within 2 s and was stopped' });
    expect(Date.now() - started).toBeLessThan(5000);
    // Killed with its process group: no Ghostscript of this test's is left. (Its own: this
    // process started it, setpriv and prlimit exec'ing into it — other test files print too,
    // and their Ghostscripts may be running now.)
    const mine = execFileSync('ps', ['-eo', 'ppid=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim().split(/\s+/)[0] === String(process.pid));
    expect(mine.join('\n')).not.toMatch(/gs -q -dSAFER .*-sOutputFile=- -$/m);
  });
});
