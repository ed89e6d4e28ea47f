// The output flow at unit level, with a fake client and display: output goes out in
// OUTPUT frames whose offsets count every byte once; output read after an input that
// has not settled waits for it; a client that falls a window behind holds the app back,
// and so does having no client at all, past the detached allowance.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeFrame } from '../../shared/protocol/index.js';
import { DETACHED_BURST, DETACHED_RATE } from './detached-allowance.js';
import { OutputFlow, SCREEN_BACKLOG } from './output-flow.js';
import type { SessionPeer } from './peer.js';

function setup(window = 1000, attached = true) {
  const position = { appliedIndex: 0, settledIndex: 0, inputSeq: 0 };
  const held: string[] = [];
  let backlog = 0;
  const frames: Array<{ inputAck: number; offset: number; text: string }> = [];
  const peer: SessionPeer = {
    sendBinary: (frame) => {
      const decoded = decodeFrame(frame);
      if (typeof decoded === 'string' || decoded.type !== 'output') throw new Error('not an OUTPUT frame');
      frames.push({ inputAck: decoded.inputAck, offset: decoded.offset, text: Buffer.from(decoded.data).toString() });
    },
    bufferedAmount: 0,
    ended: () => {},
    displaced: () => {},
    moved: () => {},
  };
  const flow = new OutputFlow({
    position,
    source: { kind: 'terminal', hold: () => held.push('hold'), release: () => held.push('release'), backlog: () => backlog },
    window,
    mayAct: () => true,
  });
  if (attached) flow.attach(peer);
  return { flow, peer, position, frames, held, setBacklog: (bytes: number) => (backlog = bytes) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => vi.useRealTimers());

describe('OutputFlow', () => {
  it('sends what the app wrote in frames whose offsets count every byte once', async () => {
    const { flow, frames } = setup();
    flow.push(Buffer.from('hello '));
    flow.push(Buffer.from('world'));
    await tick();
    flow.push(Buffer.from('!'));
    await new Promise((r) => setTimeout(r, 5));
    expect(frames.map((f) => [f.offset, f.text])).toEqual([
      [0, 'hello world'],
      [11, '!'],
    ]);
    expect(flow.offset).toBe(12);
    expect(flow.ack(13)).toBe('acknowledged output offset 13 beyond what was sent (12)');
  });

  it('holds output read after an input the standbys do not hold yet, and sends it with the input acknowledged', async () => {
    const { flow, position, frames } = setup();
    position.appliedIndex = 1; // input 1 applied, not settled
    flow.push(Buffer.from('echo'));
    await tick();
    expect(frames).toEqual([]);
    Object.assign(position, { settledIndex: 1, inputSeq: 1 });
    flow.settled(0, true);
    expect(frames).toEqual([{ inputAck: 1, offset: 0, text: 'echo' }]);
  });

  it('acknowledges an input that makes no output within 30 ms with an empty frame', async () => {
    vi.useFakeTimers();
    const { flow, position, frames } = setup();
    Object.assign(position, { appliedIndex: 1, settledIndex: 1, inputSeq: 1 });
    flow.settled(0, true);
    vi.advanceTimersByTime(30);
    expect(frames).toEqual([{ inputAck: 1, offset: 0, text: '' }]);
  });

  it('holds the app back once the client is a window behind, and lets it go at half', async () => {
    const { flow, held } = setup(1000);
    flow.push(Buffer.alloc(1200, 'x'));
    flow.checkBackpressure();
    expect(held).toEqual(['hold']);
    await tick();
    flow.ack(600); // 600 unacknowledged: still over half the window
    expect(held).toEqual(['hold']);
    flow.ack(800);
    expect(held).toEqual(['hold', 'release']);
  });

  it('holds the app back while the screen model lags far behind, whatever the client does', () => {
    const { flow, held, setBacklog } = setup();
    setBacklog(SCREEN_BACKLOG + 1);
    flow.push(Buffer.from('x'));
    flow.checkBackpressure();
    expect(held).toEqual(['hold']);
    flow.maybeRelease();
    expect(held).toEqual(['hold']);
    setBacklog(0);
    flow.maybeRelease();
    expect(held).toEqual(['hold', 'release']);
  });

  describe('with no client', () => {
    /** Writes `bytes` as a flooding app does (4 KiB reads), while the flow lets it; returns what it wrote. */
    const flood = (flow: OutputFlow, held: string[], bytes: number) => {
      let wrote = 0;
      while (wrote < bytes && held.at(-1) !== 'hold') {
        flow.push(Buffer.alloc(4096, 'x'));
        flow.checkBackpressure();
        wrote += 4096;
      }
      return wrote;
    };

    it('holds the app once it has written its allowance, then lets a trickle through', () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
      const { flow, held } = setup(1000, false);
      flow.unwatched();
      let wrote = flood(flow, held, 64 * 1024 * 1024);
      expect(held).toEqual(['hold']);
      expect(wrote).toBeGreaterThanOrEqual(DETACHED_BURST);
      expect(wrote).toBeLessThanOrEqual(DETACHED_BURST + 4096);
      // Ten seconds on: the app was let go a few times a second, for the rate's worth each time.
      for (let ms = 0; ms < 10_000; ms += 10) {
        vi.advanceTimersByTime(10);
        if (held.at(-1) === 'release') wrote += flood(flow, held, 64 * 1024 * 1024);
      }
      expect(held.filter((h) => h === 'release').length).toBeGreaterThanOrEqual(20);
      expect(wrote).toBeLessThanOrEqual(DETACHED_BURST + 10 * DETACHED_RATE + 2 * 4096);
      expect(wrote).toBeGreaterThanOrEqual(DETACHED_BURST + 9 * DETACHED_RATE);
      // Every byte still counts: a resuming client continues from here.
      vi.advanceTimersByTime(5);
      expect(flow.offset).toBe(wrote);
      flow.close();
    });

    it('lets the app go at once when a client attaches, and holds it only for that client again', async () => {
      const { flow, held, peer } = setup(1000, false);
      flow.unwatched();
      flood(flow, held, 64 * 1024 * 1024);
      await new Promise((r) => setTimeout(r, 5));
      flow.attach(peer);
      flow.maybeRelease();
      expect(held).toEqual(['hold', 'release']);
      flow.push(Buffer.alloc(500, 'x'));
      flow.checkBackpressure();
      expect(held).toEqual(['hold', 'release']);
      flow.close();
    });

    it('never holds a replica that was not left unwatched (a standby follows its primary)', () => {
      const { flow, held } = setup(1000, false);
      expect(flood(flow, held, 16 * 1024 * 1024)).toBe(16 * 1024 * 1024);
      expect(held).toEqual([]);
      flow.close();
    });
  });
});
