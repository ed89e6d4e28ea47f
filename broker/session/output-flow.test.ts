// The output flow at unit level, with a fake client and display: output goes out in
// OUTPUT frames whose offsets count every byte once; output read after an input that
// has not settled waits for it; a client that falls a window behind holds the app back.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeFrame } from '../../shared/protocol/index.js';
import { OutputFlow } from './output-flow.js';
import type { SessionPeer } from './peer.js';

function setup(window = 1000) {
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
  flow.attach(peer);
  return { flow, position, frames, held, setBacklog: (bytes: number) => (backlog = bytes) };
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
    setBacklog(65 * 1024 * 1024);
    flow.push(Buffer.from('x'));
    flow.checkBackpressure();
    expect(held).toEqual(['hold']);
    flow.maybeRelease();
    expect(held).toEqual(['hold']);
    setBacklog(0);
    flow.maybeRelease();
    expect(held).toEqual(['hold', 'release']);
  });
});
