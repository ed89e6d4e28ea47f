// Sound, node side (issue 25, the first part): an app with `sound: true` gets a sound
// server of its own in its sandbox and plays with no configuration (paplay); a client
// that asks for sound (session.sound) gets AUDIO frames — Opus packets — whose decoded
// sound is the app's 440 Hz tone; a client that does not ask gets none, an app
// without sound says so, and two sessions of one person each hear only their own
// tone. Real sandbox, real PulseAudio, real Opus.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpusScript from 'opusscript';
import { decodeFrame } from '../shared/protocol/index.js';
import { bearer, client, rawSocket, startNode, type TestNode } from '../support/harness.js';
import { HIGH_TONE_APP, TONE_APP } from './tones.js';

let t: TestNode;
beforeAll(async () => {
  // A copy of the tone whose session policy turns its sound off: the refusal test's.
  t = await startNode({ apps: [TONE_APP, HIGH_TONE_APP, { ...TONE_APP, id: 'quiet-tone', name: 'Quiet tone' }], sessionPolicies: [{ apps: ['quiet-tone'], sound: 'off' }] });
});
afterAll(() => t?.stop());

/** Power of `frequency` in mono samples (Goertzel). */
function power(samples: Float32Array, frequency: number, rate: number): number {
  const k = (2 * Math.cos((2 * Math.PI * frequency) / rate));
  let [s1, s2] = [0, 0];
  for (const x of samples) [s1, s2] = [x + k * s1 - s2, s1];
  return s1 * s1 + s2 * s2 - k * s1 * s2;
}

/** The packets' sound, decoded (real libopus) and mixed down to mono. */
function decoded(packets: Array<{ data: Uint8Array }>): Float32Array {
  const decoder = new OpusScript(48_000, 2);
  const pcm = packets.map((p) => new Int16Array(new Uint8Array(decoder.decode(Buffer.from(p.data))).buffer));
  decoder.delete();
  const mono = new Float32Array(pcm.reduce((n, b) => n + b.length / 2, 0));
  let at = 0;
  for (const block of pcm) for (let i = 0; i < block.length; i += 2) mono[at++] = block[i]! / 32768;
  return mono;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function launched(appId: string) {
  const ann = client(t.url);
  await ann.signIn('ann', 'ann-pw');
  const socket = rawSocket(t.url, bearer(ann.apiToken!));
  const audio: Array<{ at: number; data: Uint8Array }> = [];
  socket.ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const frame = decodeFrame(new Uint8Array(data as Buffer));
    if (typeof frame !== 'string' && frame.type === 'audio') audio.push({ at: frame.at, data: Buffer.from(frame.data) });
  });
  await socket.opened;
  socket.ws.send(JSON.stringify({ type: 'session.launch', id: 1, appId, cols: 80, rows: 24 }));
  await socket.next('session.started');
  return { ann, socket, audio };
}

describe('an app with sound', () => {
  it('plays into its own sound server, and a client that asks gets its tone as Opus', async () => {
    const { ann, socket, audio } = await launched('tone');
    // Not asked for: none comes.
    await new Promise((r) => setTimeout(r, 1500));
    expect(audio).toHaveLength(0);
    socket.ws.send(JSON.stringify({ type: 'session.sound', on: true }));
    for (let i = 0; i < 100 && audio.length < 50; i++) await new Promise((r) => setTimeout(r, 100));
    expect(audio.length, 'a second of 20 ms packets').toBeGreaterThanOrEqual(50);
    // 20 ms apart on the sound's clock, in order.
    const steps = audio.slice(1, 50).map((p, i) => p.at - audio[i]!.at);
    expect(steps.every((s) => s >= 20)).toBe(true);
    const mono = decoded(audio.slice(5, 50));
    const tone = power(mono, 440, 48_000);
    for (const other of [220, 660, 880, 1000]) expect(tone, `440 Hz over ${other} Hz`).toBeGreaterThan(100 * power(mono, other, 48_000));
    // Bit rate: at most 128 kbit/s.
    const bytes = audio.slice(0, 50).reduce((n, p) => n + p.data.length, 0);
    expect((bytes * 8) / 1.0 / 1000).toBeLessThanOrEqual(128);
    socket.ws.send(JSON.stringify({ type: 'session.sound', on: false }));
    await new Promise((r) => setTimeout(r, 300));
    const stopped = audio.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(audio.length).toBe(stopped);
    socket.ws.close();
    ann.signOut();
  }, 60_000);

  it('keeps two sessions of one person apart: each hears only its own tone', async () => {
    const low = await launched('tone');
    const high = await launched('high-tone');
    for (const { socket } of [low, high]) socket.ws.send(JSON.stringify({ type: 'session.sound', on: true }));
    for (let i = 0; i < 150 && (low.audio.length < 60 || high.audio.length < 60); i++) await sleep(100);
    expect(low.audio.length, 'the 440 Hz session’s sound').toBeGreaterThanOrEqual(60);
    expect(high.audio.length, 'the 660 Hz session’s sound').toBeGreaterThanOrEqual(60);
    // Ten packets in, past the encoder's start: a second of each.
    const heard = (audio: Array<{ data: Uint8Array }>) => {
      const mono = decoded(audio.slice(10, 60));
      return { 440: power(mono, 440, 48_000), 660: power(mono, 660, 48_000) };
    };
    const [fromLow, fromHigh] = [heard(low.audio), heard(high.audio)];
    expect(fromLow[440], '440 Hz in its own session, over 660 Hz').toBeGreaterThan(10_000 * fromLow[660]);
    expect(fromHigh[660], '660 Hz in its own session, over 440 Hz').toBeGreaterThan(10_000 * fromHigh[440]);
    // And the other's tone, 40 dB under its own level in its own session: a leak a hundredth as loud would show.
    expect(fromLow[660], 'the 660 Hz tone, in the 440 Hz session').toBeLessThan(fromHigh[660] / 10_000);
    expect(fromHigh[440], 'the 440 Hz tone, in the 660 Hz session').toBeLessThan(fromLow[440] / 10_000);
    for (const { socket, ann } of [low, high]) {
      socket.ws.close();
      ann.signOut();
    }
  }, 60_000);

  it('says why not, in words the tab shows: an app without sound, a policy that turns it off', async () => {
    for (const [appId, message] of [
      ['cat', 'Cat has no sound.'],
      ['quiet-tone', 'Sound is turned off for Quiet tone by your administrator.'],
    ] as const) {
      const ann = client(t.url);
      await ann.signIn('ann', 'ann-pw');
      const socket = rawSocket(t.url, bearer(ann.apiToken!));
      await socket.opened;
      socket.ws.send(JSON.stringify({ type: 'session.launch', id: 1, appId, cols: 80, rows: 24 }));
      await socket.next('session.started');
      socket.ws.send(JSON.stringify({ type: 'session.sound', on: true }));
      expect(await socket.next('session.sound')).toEqual({ type: 'session.sound', on: false, message });
      socket.ws.close();
      ann.signOut();
    }
  }, 60_000);
});
