// Print… in the desktop app, against a fake window (no Electron binary can be had on
// the build machines): the document is opened from a private file in a window of its
// own and handed to the print dialog; printed, the window closes and the file goes;
// anything that is not a PDF is refused in words.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pdfFileName, printPdf, type PdfWindow } from './print-pdf.js';

const PDF = Buffer.from('%PDF-1.4\n%…\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

class FakePdfWindow implements PdfWindow {
  loaded: string | null = null;
  loadedBytes: Buffer | null = null;
  mode = 0;
  destroyed = false;
  printed: Array<{ silent: boolean }> = [];
  private closed: Array<() => void> = [];
  navigation: ((event: { preventDefault(): void }) => void) | null = null;
  openHandler: (() => { action: 'deny' }) | null = null;
  constructor(
    readonly title: string,
    private readonly answer: [boolean, string],
  ) {}
  loadFile(path: string): Promise<void> {
    this.loaded = path;
    this.loadedBytes = readFileSync(path);
    this.mode = statSync(dirname(path)).mode & 0o777;
    return Promise.resolve();
  }
  close(): void {
    this.destroyed = true;
    for (const listener of this.closed.splice(0)) listener();
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  once(_event: 'closed', listener: () => void): void {
    this.closed.push(listener);
  }
  readonly webContents = {
    print: (options: { silent: boolean; printBackground: boolean }, callback: (success: boolean, failureReason: string) => void) => {
      this.printed.push(options);
      setImmediate(() => callback(...this.answer));
    },
    on: (_event: 'will-navigate', listener: (event: { preventDefault(): void }) => void) => void (this.navigation = listener),
    setWindowOpenHandler: (handler: () => { action: 'deny' }) => void (this.openHandler = handler),
  };
}

function deps(answer: [boolean, string]) {
  const tempDir = mkdtempSync(`${tmpdir()}/holdfast-print-test-`);
  dirs.push(tempDir);
  const windows: FakePdfWindow[] = [];
  return { tempDir, windows, openWindow: (title: string) => (windows.push(new FakePdfWindow(title, answer)), windows.at(-1)!) };
}

describe('Print… in the desktop app', () => {
  it('opens the PDF from a private file in its own window, with the print dialog; printed, both go', async () => {
    const d = deps([true, '']);
    const result = await printPdf(PDF, 'Shell print 1.pdf', d);
    expect(result).toEqual({ printed: true, reason: null });
    const [window] = d.windows;
    expect(window!.title).toBe('Shell print 1.pdf');
    expect(window!.loadedBytes!.equals(PDF)).toBe(true);
    expect(window!.mode).toBe(0o700);
    expect(window!.printed).toEqual([{ silent: false, printBackground: true }]);
    // It shows that file and nothing else.
    let prevented = false;
    window!.navigation!({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    expect(window!.openHandler!()).toEqual({ action: 'deny' });
    expect(window!.destroyed).toBe(true);
    expect(existsSync(window!.loaded!)).toBe(false);
  });

  it('says nothing when the person cancels, and keeps the window (with the viewer’s own buttons) when printing fails', async () => {
    const cancelled = deps([false, 'cancelled']);
    expect(await printPdf(PDF, 'a.pdf', cancelled)).toEqual({ printed: false, reason: null });
    const failed = deps([false, 'failed']);
    const result = await printPdf(PDF, 'a.pdf', failed);
    expect(result.printed).toBe(false);
    expect(result.reason).toMatch(/could not be printed \(failed\).*Print and Download/);
    expect(failed.windows[0]!.destroyed).toBe(false);
    // Closed by the person: the file goes with it.
    failed.windows[0]!.close();
    expect(existsSync(failed.windows[0]!.loaded!)).toBe(false);
  });

  it('refuses what is not a PDF, in words, and opens nothing', async () => {
    const d = deps([true, '']);
    const result = await printPdf(Buffer.from('<html>not a pdf</html>'), 'x.pdf', d);
    expect(result).toEqual({ printed: false, reason: 'What came is not a PDF document; use Save PDF to look at it.' });
    expect(d.windows).toHaveLength(0);
  });

  it('names the file without folders or control characters', () => {
    expect(pdfFileName('../../etc/passwd')).toBe('..-..-etc-passwd.pdf');
    expect(pdfFileName('report\u0007.PDF')).toBe('report.pdf');
    expect(pdfFileName('   ')).toBe('document.pdf');
  });
});
