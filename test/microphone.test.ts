// The microphone, node side (issue 25): a client whose session policy allows it turns
// the microphone on, sends Opus packets, and the app — recording its default source
// with parecord in its sandbox — hears the tone; packets sent before the node said yes
// are not heard; a policy that does not allow it, or an app without sound, says why; a
// malformed packet closes the connection like any bad frame. And a sound server that
// dies is started again without ending the app: its sound comes back.
// Real sandbox, real PulseAudio, real Opus.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpusScript from 'opusscript';
import { decodeFrame, encodeInput, encodeMicrophone } from '../shared/protocol/index.js';
import { SOUND_CHECK } from '../broker/config/demo.js';
import { SOUND_DIR, SOUND_SOCKET } from '../broker/host/sandbox.js';
import { bearer, client, rawSocket, startNode, type TestNode } from '../support/harness.js';
import { waitFor } from '../support/wait.js';
import { HEARD, LISTENER_APP, toneFrames } from './listener.js';
import { TONE_APP } from './tones.js';

let t: TestNode;
beforeAll(async () => {
  t = await startNode({ apps: [TONE_APP, LISTENER_APP, SOUND_CHECK], sessionPolicies: [{ apps: ['listener', 'sound-check'], microphone: 'on' }] });
});
afterAll(() => t?.stop());

async function launched(appId: string) {
  const ann = client(t.url);
  await ann.signIn('ann', 'ann-pw');
  const socket = rawSocket(t.url, bearer(ann.apiToken!));
  let text = '';
  const packets: Uint8Array[] = [];
  socket.ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const frame = decodeFrame(new Uint8Array(data as Buffer));
    if (typeof frame === 'string') return;
    if (frame.type === 'output') text += Buffer.from(frame.data).toString();
    if (frame.type === 'audio') packets.push(Buffer.from(frame.data));
  });
  await socket.opened;
  socket.ws.send(JSON.stringify({ type: 'session.launch', id: 1, appId, cols: 80, rows: 24 }));
  await socket.next('session.started');
  return { ann, socket, text: () => text, audio: () => packets.length, packets };
}

/** Sends `seconds` of the 523 Hz tone as Opus packets, one every 20 ms (as a browser would). */
async function speak(ws: { send(data: Uint8Array): void }, seconds: number): Promise<void> {
  const encoder = new OpusScript(48_000, 1, OpusScript.Application.VOIP);
  for (const frame of toneFrames(seconds)) {
    ws.send(encodeMicrophone(new Uint8Array(encoder.encode(frame, 960))));
    await new Promise((r) => setTimeout(r, 20));
  }
  encoder.delete();
}

describe('the microphone', () => {
  it('reaches the app once the node says yes, and not before', async () => {
    const { ann, socket, text } = await launched('listener');
    await waitFor('the app listening', () => text().includes('LISTENING') || null, 15_000);
    // Not turned on: the packets are dropped, the app hears nothing.
    await speak(socket.ws, 1.5);
    await new Promise((r) => setTimeout(r, 1000));
    expect(text()).not.toContain(HEARD);
    socket.ws.send(JSON.stringify({ type: 'session.microphone', on: true }));
    expect(await socket.next('session.microphone')).toEqual({ type: 'session.microphone', on: true });
    await speak(socket.ws, 3);
    await waitFor('the app hearing the tone', () => text().includes(HEARD) || null, 10_000);
    socket.ws.send(JSON.stringify({ type: 'session.microphone', on: false }));
    expect(await socket.next('session.microphone')).toEqual({ type: 'session.microphone', on: false });
    socket.ws.close();
    ann.signOut();
  }, 60_000);

  it('goes in and comes back out: the demo’s Sound check records it and plays it back, heard at 523 Hz', async () => {
    const { ann, socket, text, packets } = await launched('sound-check');
    await waitFor('the demo app ready', () => text().includes('Ctrl-D ends') || null, 15_000);
    socket.ws.send(JSON.stringify({ type: 'session.microphone', on: true }));
    await socket.next('session.microphone');
    socket.ws.send(JSON.stringify({ type: 'session.sound', on: true }));
    socket.ws.send(encodeInput(1, Buffer.from('r\r')));
    await waitFor('recording', () => text().includes('Recording') || null, 10_000);
    await speak(socket.ws, 4);
    await waitFor('the playback', () => text().includes('Playing it back') || null, 10_000);
    await waitFor('a second of it played back', () => packets.length >= 60 || null, 10_000);
    const decoder = new OpusScript(48_000, 2);
    const mono: number[] = [];
    for (const p of packets.slice(5, 55)) {
      const pcm = new Int16Array(new Uint8Array(decoder.decode(Buffer.from(p))).buffer);
      for (let i = 0; i < pcm.length; i += 2) mono.push(pcm[i]!);
    }
    decoder.delete();
    const power = (f: number) => {
      const k = 2 * Math.cos((2 * Math.PI * f) / 48_000);
      let [s1, s2] = [0, 0];
      for (const x of mono) [s1, s2] = [x + k * s1 - s2, s1];
      return s1 * s1 + s2 * s2 - k * s1 * s2;
    };
    for (const other of [300, 440, 800]) expect(power(523), `523 Hz over ${other} Hz`).toBeGreaterThan(30 * power(other));
    socket.ws.close();
    ann.signOut();
  }, 60_000);

  it('says why not: a policy that does not allow it, an app without sound', async () => {
    for (const [appId, message] of [
      ['tone', 'Your administrator has not allowed Tone to hear a microphone.'],
      ['cat', 'Cat has no sound, so it cannot hear a microphone.'],
    ] as const) {
      const { ann, socket } = await launched(appId);
      socket.ws.send(JSON.stringify({ type: 'session.microphone', on: true }));
      expect(await socket.next('session.microphone')).toEqual({ type: 'session.microphone', on: false, message });
      socket.ws.close();
      ann.signOut();
    }
  }, 60_000);

  it('closes a connection that sends a malformed microphone frame, and the node serves on', async () => {
    const { ann, socket } = await launched('listener');
    socket.ws.send(JSON.stringify({ type: 'session.microphone', on: true }));
    await socket.next('session.microphone');
    socket.ws.send(Uint8Array.of(0x04, ...new Uint8Array(2000)));
    expect(await socket.next('error')).toEqual(expect.objectContaining({ code: 'bad_request', message: 'a microphone frame carries one Opus packet of 1 to 1275 bytes, not 2000' }));
    expect((await socket.closed).code).toBe(1003);
    const again = await launched('cat');
    again.socket.ws.close();
    ann.signOut();
    again.ann.signOut();
  }, 60_000);
});

/** The pids of the sound servers whose socket is `socket` (a host path): found through each process's own root. */
function soundServers(socket: string): number[] {
  const inode = statSync(socket).ino;
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      return readFileText(`/proc/${pid}/comm`) === 'pulseaudio' && statSync(`/proc/${pid}/root${SOUND_DIR}/${SOUND_SOCKET}`).ino === inode;
    } catch {
      return false;
    }
  });
}

function readFileText(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

/**
 * The sound server's socket of the session launched last: earlier tests' sessions may
 * still run, with sound servers of their own (taking the first found killed another
 * session's server, and this one's never came back: CI).
 */
function newestSocket(stateDir: string): string | null {
  const sandboxes = join(stateDir, 'sandboxes');
  const newestFirst = readdirSync(sandboxes)
    .map((id) => join(sandboxes, id))
    .sort((a, b) => statSync(b).birthtimeMs - statSync(a).birthtimeMs);
  for (const dir of newestFirst) {
    const found = findSocket(dir);
    if (found) return found;
  }
  return null;
}

function findSocket(dir: string): string | null {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSocket() && entry.name === SOUND_SOCKET) return path;
    if (entry.isDirectory()) {
      const found = findSocket(path);
      if (found) return found;
    }
  }
  return null;
}

describe('a sound server that dies', () => {
  it('is started again, the app goes on, and its sound comes back', async () => {
    const { ann, socket, text, audio } = await launched('tone');
    await waitFor('the tone app ready', () => text().includes('TONE-READY') || null, 15_000);
    socket.ws.send(JSON.stringify({ type: 'session.sound', on: true }));
    await waitFor('the tone', () => audio() >= 25 || null, 15_000);
    const sock = newestSocket(t.stateDir)!;
    const [server] = soundServers(sock);
    expect(server, 'the session’s sound server').toBeGreaterThan(0);
    process.kill(server!, 'SIGKILL');
    await waitFor('the old server gone', () => !soundServers(sock).includes(server!) || null, 5000);
    const before = audio();
    await waitFor('a new sound server', () => soundServers(sock).length === 1 || null, 10_000);
    await waitFor('the tone again', () => audio() >= before + 25 || null, 15_000);
    // The app was not ended: the connection still streams its session.
    expect(socket.messages.find((m) => m.type === 'session.exited')).toBeUndefined();
    socket.ws.close();
    ann.signOut();
  }, 60_000);
});
