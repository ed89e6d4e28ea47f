import { describe, expect, it, vi } from 'vitest';
import { CloseCode, ErrorCode, encodeInput, encodeOutput, encodeOutputAck, type ServerMessage } from '../../shared/protocol/index.js';
import type { FederatedClaims } from '../auth/tokens.js';
import type { Client } from './client.js';
import type { NodeContext, SessionPeer, StreamedSession } from './context.js';
import { StreamBinding } from './stream-binding.js';

class FakeClient implements Client {
  readonly address = '203.0.113.7';
  user: string | null = 'ann';
  federated: FederatedClaims | undefined = undefined;
  grant: string | null = null;
  closed = false;
  open = true;
  readonly sent: ServerMessage[] = [];
  readonly closes: Array<{ code: number; reason: string }> = [];
  signedIn(): void {}
  signedOut(): void {}
  keepOpen(): void {}
  onStreamUsed(): void {}
  send(message: ServerMessage): void {
    this.sent.push(message);
  }
  refuse(id: number | null, code: string, message: string): void {
    this.send({ type: 'error', id, code, message });
  }
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
  isOpen(): boolean {
    return this.open;
  }
}

/** A session that expects inputs numbered 1, 2, 3… as the real one does. */
function fakeSession() {
  let next = 1;
  const session = {
    id: 's1',
    app: { id: 'shell', name: 'Shell', display: 'terminal' as const },
    owner: 'ann',
    resumeToken: 'token',
    endMessage: null,
    peer: null as SessionPeer | null,
    attach: vi.fn((peer: SessionPeer) => void (session.peer = peer)),
    detach: vi.fn(),
    startHold: vi.fn(),
    resumePoint: vi.fn(),
    resize: vi.fn(),
    end: vi.fn(),
    input: vi.fn((seq: number) => (seq === next ? (next++, null) : `input ${seq} arrived where ${next} was expected`)),
    viewer: vi.fn(() => null),
    outputAck: vi.fn(() => null),
  };
  return session;
}

function setup() {
  const client = new FakeClient();
  const ws = { send: vi.fn(), bufferedAmount: 42 };
  const observe = vi.fn();
  const noteAttachment = vi.fn(async () => {});
  const ctx = { metrics: { echo: { labels: () => ({ observe }) }, streamBytes: { labels: () => ({ observe }) } }, sessions: { noteAttachment } } as unknown as Pick<NodeContext, 'metrics' | 'sessions'>;
  const stream = new StreamBinding(ctx, client, ws as never);
  const session = fakeSession();
  return { client, ws, stream, session, noteAttachment };
}

const bytes = (frame: Uint8Array) => Buffer.from(frame);

describe('stream binding', () => {
  it('binds: the session gets a peer that writes to the socket, and the record is told', () => {
    const { stream, session, ws, noteAttachment } = setup();
    stream.bind(session as unknown as StreamedSession);
    expect(stream.session).toBe(session);
    expect(session.attach).toHaveBeenCalledTimes(1);
    expect(noteAttachment).toHaveBeenCalledWith(session.id, '203.0.113.7');
    const frame = encodeOutput(0, 0, new Uint8Array([104, 105]));
    session.peer!.sendBinary(frame);
    expect(ws.send).toHaveBeenCalledWith(frame, { binary: true });
    expect(session.peer!.bufferedAmount).toBe(42);
  });

  it('hands an input frame to the session with its sequence number and bytes', () => {
    const { stream, session, client } = setup();
    stream.bind(session as unknown as StreamedSession);
    stream.onBinary(bytes(encodeInput(1, new Uint8Array([97, 98]))));
    expect(session.input).toHaveBeenCalledTimes(1);
    const [seq, data] = session.input.mock.calls[0]! as unknown as [number, Uint8Array];
    expect(seq).toBe(1);
    expect([...data]).toEqual([97, 98]);
    stream.onBinary(bytes(encodeOutputAck(10)));
    expect(session.outputAck).toHaveBeenCalledWith(10);
    expect(client.sent).toEqual([]);
    expect(client.closes).toEqual([]);
  });

  it('refuses an output frame from a client and closes with unsupportedData', () => {
    const { stream, session, client } = setup();
    stream.bind(session as unknown as StreamedSession);
    stream.onBinary(bytes(encodeOutput(0, 0, new Uint8Array([1]))));
    expect(client.sent).toEqual([{ type: 'error', id: null, code: ErrorCode.badRequest, message: 'clients do not send output frames' }]);
    expect(client.closes).toEqual([{ code: CloseCode.unsupportedData, reason: 'clients do not send output frames' }]);
    expect(session.input).not.toHaveBeenCalled();
  });

  it('refuses binary frames before any session is bound', () => {
    const { stream, client } = setup();
    stream.onBinary(bytes(encodeInput(1, new Uint8Array([97]))));
    expect(client.closes).toEqual([{ code: CloseCode.unsupportedData, reason: 'binary frames need a launched session' }]);
  });

  it('closes with protocolError when the session refuses an input (a bad sequence number)', () => {
    const { stream, session, client } = setup();
    stream.bind(session as unknown as StreamedSession);
    stream.onBinary(bytes(encodeInput(5, new Uint8Array([97]))));
    expect(client.sent).toEqual([{ type: 'error', id: null, code: ErrorCode.badRequest, message: 'input 5 arrived where 1 was expected' }]);
    expect(client.closes).toEqual([{ code: CloseCode.protocolError, reason: 'input 5 arrived where 1 was expected' }]);
  });

  it('tells the client when the session ends, and unbinds', () => {
    const { stream, session, client } = setup();
    stream.bind(session as unknown as StreamedSession);
    session.peer!.ended({ exitCode: 3, signal: null }, 'Shell exited.');
    expect(client.sent).toEqual([{ type: 'session.exited', sessionId: 's1', exitCode: 3, signal: null, message: 'Shell exited.' }]);
    expect(client.closes).toEqual([{ code: CloseCode.normal, reason: 'session ended' }]);
    expect(stream.session).toBeNull();
  });

  it('detaches (and tells the record) when the client leaves', () => {
    const { stream, session, noteAttachment } = setup();
    stream.bind(session as unknown as StreamedSession);
    const peer = session.peer;
    stream.detach();
    expect(session.detach).toHaveBeenCalledWith(peer);
    expect(noteAttachment).toHaveBeenCalledTimes(2);
    expect(stream.session).toBeNull();
  });
});
