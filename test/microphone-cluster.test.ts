// The microphone through the death of its server (issue 25), on a 3-node cluster of real
// processes with real etcd: the microphone is input, logged like keystrokes, so every
// replica's app hears it. The person speaks (a 523 Hz tone, through the client's own
// microphone link) until the primary's app says it heard it; the primary is killed with
// -9; the promoted replica's screen — made by its own app alone — says it heard it too,
// and after the resume the microphone is asked for again and the new primary says yes.
import { describe, expect, it } from 'vitest';
import OpusScript from 'opusscript';
import { client, launch, Screen } from '../support/harness.js';
import { sessionOf, waitForStatus, whole, type TestCluster } from '../support/cluster-harness.js';
import { waitFor } from '../support/wait.js';
import { clusterPerFile } from './cluster-per-file.js';
import { HEARD, LISTENER_APP, toneFrames } from './listener.js';

let c: TestCluster;
clusterPerFile({ nodes: 3, tag: 'microphone', apps: [LISTENER_APP], sessionPolicies: [{ apps: ['listener'], microphone: 'on' }] }, (started) => (c = started));

describe('the microphone through a failover', () => {
  it('is heard by every replica: the promoted one heard it too, and hears it again after the resume', async () => {
    const ann = client(c.nodes[0]!.url);
    await ann.signIn('ann', 'ann-pw');
    const stream = await launch(ann, 'listener');
    const screen = new Screen(stream);
    const id = stream.sessionId!;
    await screen.waitFor('LISTENING', 20_000);
    const primary = sessionOf(await waitForStatus(c, whole(id)), id)!.primary;
    const answers: boolean[] = [];
    stream.speak({ answered: (on) => answers.push(on) });
    await waitFor('the node’s yes', () => answers[0] ?? null, 5000);
    // Speak, 20 ms at a time, until told to stop.
    const encoder = new OpusScript(48_000, 1, OpusScript.Application.VOIP);
    const frames = toneFrames(1);
    let speaking = true;
    const speech = (async () => {
      for (let i = 0; speaking; i++) {
        stream.sendMicrophone(new Uint8Array(encoder.encode(frames[i % frames.length]!, 960)));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await screen.waitFor(HEARD, 15_000);
    // The standbys have the packets the primary's app heard (they are settled with it); give their apps a moment to read
    // them, then stop: whatever the promoted replica shows it heard, it heard before the kill.
    await new Promise((r) => setTimeout(r, 1500));
    speaking = false;
    await speech;

    const resets = screen.resets;
    c.signal(primary, 'SIGKILL');
    // The client may be linked to the primary through another node (which keeps its socket
    // open and resumes it there), so its loss may not show: what shows is the promoted
    // replica's snapshot, its own screen, once the client streams from it.
    const promoted = sessionOf(await waitForStatus(c, (s) => sessionOf(s, id)?.primary !== undefined && sessionOf(s, id)!.primary !== primary), id)!.primary;
    expect(promoted).not.toBe(primary);
    await waitFor('the client streaming from the promoted replica', () => (stream.view.status === 'streaming' && screen.resets > resets) || null, 30_000);
    // The snapshot is the promoted replica's own screen: its app heard the tone.
    expect(screen.text).toContain(HEARD);
    // Asked again on the new connection, and answered yes there.
    await waitFor('a yes from the new primary', () => (answers.length >= 2 ? answers.at(-1)! : null), 10_000);
    encoder.delete();
    stream.close();
    ann.signOut();
  }, 120_000);
});
