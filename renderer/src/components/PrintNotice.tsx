// What a session's app printed (issue 23, printing): a notice in the pane for each job,
// in the broker's words ("Shell printed a document (1 page)."), with Print… — the PDF
// loaded into a hidden frame and handed to the browser's (or Electron's) own print
// dialog — and Save PDF, or, where it did not work, why and what to do. It floats over
// the app's lower right, so the app is not resized, and sits after the pane's tools in
// the tab order. It never takes the focus: the person may be typing in the app.
import { useEffect, useRef, useState, type CSSProperties } from 'react';
import type { HoldfastClient } from '../../../shared/core/index.js';
import type { SessionPrinted } from '../../../shared/protocol/index.js';
import { desktopBridge } from '../bridge.js';
import { formatBytes, saveBlob } from '../files-api.js';
import { fetchPrintedPdf } from '../print-api.js';

const stack: CSSProperties = { position: 'absolute', right: '1rem', bottom: '1rem', zIndex: 3, display: 'flex', flexDirection: 'column', gap: '0.5rem', maxWidth: 'min(32rem, calc(100% - 2rem))' };
const card: CSSProperties = { margin: 0, padding: '0.6rem 0.9rem', borderRadius: '8px', background: '#0f2233', color: '#e6edf3', border: '1px solid #388bfd', boxShadow: '0 6px 20px #000a' };
const failedCard: CSSProperties = { ...card, background: '#3d1418', border: '1px solid #f85149' };
/** Off screen but laid out: Chromium prints nothing from a frame that is display: none. */
const hiddenFrame: CSSProperties = { position: 'fixed', right: 0, bottom: 0, width: '1px', height: '1px', border: 0, opacity: 0, pointerEvents: 'none' };

const key = (print: SessionPrinted, index: number) => print.job?.id ?? `${index}-${print.result}`;

export function PrintNotice({ client, sessionId, prints }: { client: HoldfastClient; sessionId: string; prints: readonly SessionPrinted[] }) {
  const [dismissed, setDismissed] = useState<ReadonlySet<string>>(new Set());
  const shown = prints.map((print, index) => ({ print, id: key(print, index) })).filter(({ id }) => !dismissed.has(id));
  if (shown.length === 0) return null;
  return (
    <div className="print-notices" style={stack}>
      {shown.map(({ print, id }) => (
        <PrintCard key={id} id={id} client={client} sessionId={sessionId} print={print} onDismiss={() => setDismissed(new Set([...dismissed, id]))} />
      ))}
    </div>
  );
}

function PrintCard({ id, client, sessionId, print, onDismiss }: { id: string; client: HoldfastClient; sessionId: string; print: SessionPrinted; onDismiss: () => void }) {
  const [busy, setBusy] = useState<'print' | 'save' | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const pdf = useRef<Blob | null>(null);
  const frame = useRef<HTMLIFrameElement | null>(null);
  const printButton = useRef<HTMLButtonElement | null>(null);
  const messageId = `print-${id}`;
  // The frame (and its object URL) goes with the notice.
  useEffect(() => () => removeFrame(frame.current), []);
  const job = print.job;
  if (!job) {
    return (
      <div style={failedCard} role="alert" data-result={print.result}>
        <p style={{ margin: '0 0 0.4rem' }}>{print.message}</p>
        <div className="actions">
          <button onClick={onDismiss}>Dismiss</button>
        </div>
      </div>
    );
  }
  const name = `${job.name.replace(/\.pdf$/i, '')}.pdf`;
  const loadPdf = async (): Promise<Blob> => (pdf.current ??= await fetchPrintedPdf(client, sessionId, job.id));
  const act = async (what: 'print' | 'save') => {
    // Not disabled while busy (a disabled button drops the keyboard's focus): a second press waits for the first.
    if (busy !== null) return;
    setBusy(what);
    setProblem(null);
    try {
      const blob = await loadPdf();
      if (what === 'save') saveBlob(blob, name);
      else if (desktopBridge()) await printInDesktop(blob, name, setProblem);
      else printBlob(blob, frame, setProblem, () => printButton.current?.focus());
    } catch (error) {
      setProblem(`${error instanceof Error ? error.message : String(error)}`);
    } finally {
      setBusy(null);
    }
  };
  return (
    <div style={card} role="status" data-result="printed" aria-labelledby={messageId}>
      <p id={messageId} style={{ margin: '0 0 0.4rem' }}>
        {print.message} <span className="muted">{name}, {formatBytes(job.size)}</span>
      </p>
      {problem && (
        <p className="error" role="alert" style={{ margin: '0 0 0.4rem' }}>
          {problem}
        </p>
      )}
      <div className="actions">
        <button ref={printButton} className="primary" onClick={() => void act('print')} aria-busy={busy === 'print'} aria-describedby={messageId}>
          {busy === 'print' ? 'Opening…' : 'Print…'}
        </button>
        <button onClick={() => void act('save')} aria-busy={busy === 'save'} aria-describedby={messageId}>
          {busy === 'save' ? 'Saving…' : 'Save PDF'}
        </button>
        <button className="quiet" onClick={onDismiss} aria-describedby={messageId}>
          Dismiss
        </button>
      </div>
    </div>
  );
}

/**
 * The desktop app: a PDF in a frame of this (plugin-free) window prints blank there, so
 * main opens it in a window of its own with the print dialog (main/print-pdf.ts).
 */
async function printInDesktop(blob: Blob, name: string, problem: (words: string) => void): Promise<void> {
  const result = await desktopBridge()!.printPdf(new Uint8Array(await blob.arrayBuffer()), name);
  if (!result.printed && result.reason) problem(result.reason);
}

/** Loads the PDF into a hidden frame and opens the print dialog for it (the browser's own PDF viewer prints it). */
function printBlob(blob: Blob, frame: { current: HTMLIFrameElement | null }, problem: (words: string) => void, done: () => void): void {
  removeFrame(frame.current);
  const url = URL.createObjectURL(blob);
  const element = document.createElement('iframe');
  element.title = 'Document to print';
  element.tabIndex = -1;
  element.setAttribute('aria-hidden', 'true');
  element.dataset.printFrame = 'true';
  Object.assign(element.style, hiddenFrame);
  element.addEventListener('load', () => {
    try {
      element.contentWindow?.focus();
      element.contentWindow?.print();
    } catch {
      problem('This browser could not open its print dialog for the document; use Save PDF and print the file.');
    }
    // The dialog has closed (print() returns then): the keyboard is back where it was.
    done();
  });
  element.src = url;
  document.body.append(element);
  frame.current = element;
}

function removeFrame(element: HTMLIFrameElement | null): void {
  if (!element) return;
  if (element.src.startsWith('blob:')) URL.revokeObjectURL(element.src);
  element.remove();
}
