// Bytes a graphical session's recording costs (issue 24's benchmark figure): a real node
// records two xterm sessions for WINDOW_S each — one scrolling without pause (`ls -l
// /usr/bin` in a loop: the busiest a terminal gets), one idle at its prompt — and this
// reads how much each recording file grew over that window (the first full frame, before
// it, is left out), and how many updates the recorder took (at most one per 200 ms).
// Not part of `npm run bench` (it takes a minute); run it alone:
//   npx vite-node bench/gui-recording.ts
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRfbRecording } from '../shared/protocol/index.js';
import { client, startNode } from '../support/harness.js';
import { launchGui } from '../support/gui.js';
import { updatesIn } from '../test/recordings.js';

const WINDOW_S = Number(process.env.WINDOW_S ?? 30);
const FONT = ['-fa', 'DejaVu Sans Mono', '-fs', '11'];
const BUSY = { id: 'busy', name: 'Busy XTerm', display: 'rfb', geometry: '1024x700', command: '/usr/bin/xterm', args: [...FONT, '-e', 'sh', '-c', 'while :; do ls -l /usr/bin; done'] };
const IDLE = { id: 'idle', name: 'Idle XTerm', display: 'rfb', geometry: '1024x700', command: '/usr/bin/xterm', args: FONT };

const t = await startNode({ admin: true, apps: [BUSY, IDLE], sessionPolicies: [{ apps: ['busy', 'idle'], recording: 'on' }] });
try {
  const ann = client(t.url);
  await ann.signIn('ann', 'ann-pw');
  const sessions = await Promise.all([BUSY, IDLE].map(async (app) => ({ app: app.id, gui: await launchGui(ann, app.id) })));
  await new Promise((r) => setTimeout(r, 3000)); // started, drawn
  const path = (id: string) => join(t.stateDir, 'recordings', `${id}.rfbrec`);
  const from = sessions.map(({ gui }) => ({ bytes: statSync(path(gui.stream.sessionId!)).size, at: performance.now() }));
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const to = sessions.map(({ gui }) => ({ bytes: statSync(path(gui.stream.sessionId!)).size, at: performance.now() }));
  for (const [i, { app, gui }] of sessions.entries()) {
    const minutes = (to[i]!.at - from[i]!.at) / 60_000;
    const grown = to[i]!.bytes - from[i]!.bytes;
    const file = parseRfbRecording(readFileSync(path(gui.stream.sessionId!)));
    const updates = await updatesIn(file.records);
    process.stdout.write(`${app}: ${(grown / minutes / 1024).toFixed(1)} KiB a minute over ${WINDOW_S} s (${(grown / 1024).toFixed(1)} KiB); file ${(to[i]!.bytes / 1024).toFixed(1)} KiB in all, ${updates} updates in ${(file.durationMs / 1000).toFixed(1)} s\n`);
  }
  for (const { gui } of sessions) gui.stream.close();
  ann.signOut();
} finally {
  await t.stop();
}
