import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeOutput } from '../protocol/frames.js';
import { SessionStream } from './session-stream.js';
import type { Connection } from './connection.js';

function fakeConnection() {
  const sent: Uint8Array[] = [];
  const json: object[] = [];
  const connection = {
    sendBinary: (frame: Uint8Array) => sent.push(frame),
    sendJson: (message: object) => json.push(message),
    close: () => {},
  } as unknown as Connection;
  return { connection, sent, json };
}

const started = { type: 'session.started' as const, id: 1, sessionId: 's1', appId: 'cat', cols: 80, rows: 24, window: 400 };

describe('SessionStream', () => {
  it('numbers inputs from 1 and splits large pastes into bounded frames', () => {
    const { connection, sent } = fakeConnection();
    const stream = new SessionStream(connection, started);
    stream.sendInput('a');
    stream.sendInput(new Uint8Array(40 * 1024));
    const seqs = sent.map((frame) => (decodeFrame(frame) as { seq: number }).seq);
    expect(seqs).toEqual([1, 2, 3, 4]);
  });

  it('acknowledges output only once the consumer has rendered it', () => {
    const { connection, sent } = fakeConnection();
    const stream = new SessionStream(connection, started);
    const pending: Array<() => void> = [];
    stream.setConsumer((_data, done) => pending.push(done));
    stream.handleBinary(encodeOutput(0, 0, new Uint8Array(150)));
    expect(sent).toHaveLength(0);
    pending.shift()!();
    // 150 ≥ window/4: acked at once.
    expect(decodeFrame(sent[0]!)).toEqual({ type: 'outputAck', offset: 150 });
  });

  it('delivers output that arrived before a consumer was set, in order', () => {
    const { connection } = fakeConnection();
    const stream = new SessionStream(connection, started);
    stream.handleBinary(encodeOutput(0, 0, new TextEncoder().encode('ab')));
    stream.handleBinary(encodeOutput(0, 2, new TextEncoder().encode('cd')));
    let text = '';
    stream.setConsumer((data, done) => {
      text += new TextDecoder().decode(data);
      done();
    });
    expect(text).toBe('abcd');
  });

  it('tracks the highest input the host applied', () => {
    const { connection } = fakeConnection();
    const stream = new SessionStream(connection, started);
    stream.handleBinary(encodeOutput(5, 0, new Uint8Array(1)));
    stream.handleBinary(encodeOutput(4, 1, new Uint8Array(1)));
    expect(stream.appliedInput).toBe(5);
  });
});
