// Whose microphone a session takes: the attached client's that turned it on, at most
// MAX_PACKETS_PER_SECOND a second; packets from anyone else are dropped, not errors.
import { describe, expect, it } from 'vitest';
import type { SessionPeer } from './peer.js';
import { SessionMicrophone } from './session-microphone.js';

const peer = (name: string) => ({ name }) as unknown as SessionPeer;

describe('SessionMicrophone', () => {
  it('takes packets only from the attached client, while its microphone is on', () => {
    const [ann, other] = [peer('ann'), peer('other')];
    let attached: SessionPeer | null = ann;
    const logged: number[] = [];
    const mic = new SessionMicrophone(() => attached, (p) => logged.push(p[0]!));
    mic.packet(ann, Uint8Array.of(1), 0);
    mic.turn(ann, true);
    mic.packet(ann, Uint8Array.of(2), 1);
    mic.packet(other, Uint8Array.of(3), 2);
    mic.turn(other, false); // someone else's "off" does not silence ann
    mic.packet(ann, Uint8Array.of(4), 3);
    attached = other; // ann's client was replaced
    mic.packet(ann, Uint8Array.of(5), 4);
    attached = ann;
    mic.turn(ann, false);
    mic.packet(ann, Uint8Array.of(6), 5);
    mic.turn(ann, true);
    mic.stop();
    mic.packet(ann, Uint8Array.of(7), 6);
    expect(logged).toEqual([2, 4]);
  });

  it('drops packets past 100 a second, and takes them again the next second', () => {
    const ann = peer('ann');
    let logged = 0;
    const mic = new SessionMicrophone(() => ann, () => logged++);
    mic.turn(ann, true);
    for (let i = 0; i < 150; i++) mic.packet(ann, Uint8Array.of(i), 5000 + i);
    expect(logged).toBe(100);
    mic.packet(ann, Uint8Array.of(0), 6001);
    expect(logged).toBe(101);
  });
});
