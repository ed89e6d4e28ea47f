// `holdfast recording list|export`: the recorded sessions of a cluster, and one's file
// (a terminal's asciicast, a graphical app's RFB recording, written as it is), through
// any node's admin API (as a member of the "admins" group).
//   holdfast recording list --broker URL [--user NAME] [--json]
//   holdfast recording export ID --broker URL [--user NAME] [--out FILE]
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { RecordingListSchema, type RecordingCopy } from '../../shared/protocol/index.js';
import { AdminClient, adminOptions, table } from './status.js';

export async function runRecording(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  try {
    if (action === 'list') return await list(rest);
    if (action === 'export') return await exportOne(rest);
  } catch (error) {
    process.stderr.write(`holdfast recording ${action}: ${(error as Error).message}\n`);
    return 1;
  }
  process.stderr.write('holdfast recording: say list or export ID\n');
  return 2;
}

async function list(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...adminOptions, json: { type: 'boolean' } } });
  const client = await AdminClient.signIn(values);
  const parsed = RecordingListSchema.safeParse(await client.call('GET', '/api/recordings'));
  if (!parsed.success) throw new Error(`${client.base} answered with a list this holdfast does not understand (${parsed.error.issues[0]?.message}); is it another version?`);
  if (values.json) process.stdout.write(JSON.stringify(parsed.data, null, 2) + '\n');
  else process.stdout.write(formatRecordings(parsed.data.recordings));
  return 0;
}

export function formatRecordings(recordings: RecordingCopy[]): string {
  return table(
    ['SESSION', 'PERSON', 'APP', 'KIND', 'NODE', 'START', 'LENGTH', 'SIZE', 'COMPLETE'],
    recordings.map((r) => [r.sessionId, r.owner, r.appId, r.kind === 'rfb' ? 'graphical' : 'terminal', r.node, new Date(r.startedAt).toISOString().replace(/\.\d+Z$/, 'Z'), `${Math.round(r.seconds)} s`, `${r.bytes} B`, r.complete ? 'yes' : r.endedAt === null ? 'recording' : `no: ${r.problem ?? ''}`]),
  );
}

/** Writes the recording to --out (replaced whole once all of it came: a cut-off download leaves no half file), or to stdout. */
async function exportOne(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...adminOptions, out: { type: 'string', short: 'o' } } });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new Error('say which recording: holdfast recording export ID [--out FILE]');
  const client = await AdminClient.signIn(values);
  const body = await client.download(`/api/recordings/${encodeURIComponent(id)}`);
  if (!values.out || values.out === '-') {
    await pipeline(body, process.stdout);
    return 0;
  }
  const partial = `${values.out}.part`;
  try {
    await pipeline(body, createWriteStream(partial, { mode: 0o600 }));
    await rename(partial, values.out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  const rfb = body.headers['content-type'] === 'application/x-holdfast-rfb';
  process.stderr.write(`${values.out}: the recording of session ${id} (${rfb ? 'a graphical session’s RFB stream; play it on the Admin page' : 'asciicast v2; play it with asciinema play'})\n`);
  return 0;
}
