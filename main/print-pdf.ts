// Print… in the desktop app (issue 23, printing): the renderer's hidden-frame route
// prints a blank page here, because Electron shows a PDF only in a window with the PDF
// viewer plugin, which the Holdfast window does not enable (its renderer stays
// sandboxed, plugin-free). So main opens the document in a window of its own — the
// plugin on, no preload, its own session, no navigation, no pop-ups — showing
// Chromium's PDF viewer with its own Print and Download buttons, and opens Electron's
// print dialog for it (webContents.print, which prints a PDF's pages since Electron
// 30.4/31.4/32.0: electron/electron#43309). Printed, the window closes; cancelled or
// failed, it stays for the viewer's own buttons. The file lives in a private temporary
// folder while its window is open.
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PRINT_BYTES, type PrintResult } from '../shared/ipc.js';

/** What printing needs of a BrowserWindow (Electron's, or a test's). */
export interface PdfWindow {
  loadFile(path: string): Promise<void>;
  close(): void;
  isDestroyed(): boolean;
  once(event: 'closed', listener: () => void): unknown;
  readonly webContents: {
    print(options: { silent: boolean; printBackground: boolean }, callback: (success: boolean, failureReason: string) => void): void;
    on(event: 'will-navigate', listener: (event: { preventDefault(): void }) => void): unknown;
    setWindowOpenHandler(handler: () => { action: 'deny' }): void;
  };
}

export interface PrintPdfDeps {
  /** Where the document's private folder goes (app.getPath('temp')). */
  tempDir: string;
  /** A visible window titled `title` with the PDF viewer plugin on (shell.ts makes it). */
  openWindow(title: string): PdfWindow;
}

/** A file name for the document: no folders, no control characters, ends in .pdf. */
export function pdfFileName(name: string): string {
  const base = name
    .replace(/[\\/]/g, '-')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .replace(/\.pdf$/i, '')
    .trim()
    .slice(0, 100);
  return `${base || 'document'}.pdf`;
}

export async function printPdf(bytes: Uint8Array, name: string, deps: PrintPdfDeps): Promise<PrintResult> {
  if (bytes.byteLength > MAX_PRINT_BYTES) return { printed: false, reason: `The document is larger than ${MAX_PRINT_BYTES / 1024 / 1024} MiB; use Save PDF and print the file.` };
  if (!Buffer.from(bytes.subarray(0, 5)).equals(Buffer.from('%PDF-'))) return { printed: false, reason: 'What came is not a PDF document; use Save PDF to look at it.' };
  const fileName = pdfFileName(name);
  const folder = join(deps.tempDir, `holdfast-print-${randomUUID()}`);
  const file = join(folder, fileName);
  try {
    mkdirSync(folder, { mode: 0o700 });
    writeFileSync(file, bytes, { mode: 0o600 });
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    return { printed: false, reason: `The document could not be written for printing (${error instanceof Error ? error.message : String(error)}); use Save PDF and print the file.` };
  }
  const window = deps.openWindow(fileName);
  window.once('closed', () => rmSync(folder, { recursive: true, force: true }));
  // It shows this one file and nothing else.
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  try {
    await window.loadFile(file);
  } catch (error) {
    if (!window.isDestroyed()) window.close();
    return { printed: false, reason: `The document could not be opened for printing (${error instanceof Error ? error.message : String(error)}); use Save PDF and print the file.` };
  }
  if (window.isDestroyed()) return { printed: false, reason: null };
  return new Promise<PrintResult>((resolve) => {
    window.webContents.print({ silent: false, printBackground: true }, (success, failureReason) => {
      if (success) {
        if (!window.isDestroyed()) window.close();
        return resolve({ printed: true, reason: null });
      }
      // Cancelled: nothing to say. Failed: the window stays, with the viewer's own Print and Download.
      resolve({ printed: false, reason: failureReason === 'cancelled' ? null : `It could not be printed (${failureReason || 'no reason given'}); the document is open in its own window, with Print and Download.` });
    });
  });
}
