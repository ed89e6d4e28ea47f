// What the print tests share: printing through a GTK dialog as a person does (Ctrl+P,
// then Enter once the dialog holds still), and the text of a printed PDF as the client
// fetches it (GET …/print/ID, then pdftotext).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { waitFor } from '../support/wait.js';
import type { Gui } from './gui.js';

const CONTROL_L = 0xffe3;
const RETURN = 0xff0d;

/** Ctrl+P, then Enter in the dialog once its printers are listed; resolves with the dialog as it showed. */
export async function printThroughDialog(gui: Gui): Promise<Awaited<ReturnType<Gui['steady']>>> {
  const before = await gui.steady();
  for (const [keysym, down] of [[CONTROL_L, true], [0x70, true], [0x70, false], [CONTROL_L, false]] as const) gui.viewer.key(keysym, down);
  // The dialog is up once the screen has changed and holds still (its printers listed).
  await waitFor('the print dialog', async () => ((await gui.steady()).hash !== before.hash) || null, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const dialog = await gui.steady();
  gui.viewer.key(RETURN, true);
  gui.viewer.key(RETURN, false);
  return dialog;
}

/** The text of job `jobId`'s PDF, fetched from `url` as its owner (200, application/pdf; kept as `file`). */
export async function printedText(url: string, token: string, sessionId: string, jobId: string, file: string): Promise<string> {
  const reply = await fetch(`${url}/api/sessions/${encodeURIComponent(sessionId)}/print/${jobId}`, { headers: { authorization: `Bearer ${token}` } });
  const type = reply.headers.get('content-type');
  if (reply.status !== 200 || type !== 'application/pdf') throw new Error(`the PDF of job ${jobId}: HTTP ${reply.status}, ${type}`);
  writeFileSync(file, Buffer.from(await reply.arrayBuffer()));
  return execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
}

