import { describe, expect, it } from 'vitest';
import { Connection, type ConnectionConsumer } from './connection.js';
import { SocketState, type SocketLike } from './socket.js';

/** A socket the test drives by hand: `hear` delivers a frame, `drop` closes it. */
function fakeSocket() {
  const socket: SocketLike & { hear(data: unknown): void; drop(code: number): void } = {
    binaryType: 'nodebuffer',
    readyState: SocketState.open,
    bufferedAmount: 0,
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    send() {},
    close() {},
    hear(data) {
      this.onmessage?.({ data });
    },
    drop(code) {
      (this as { readyState: number }).readyState = SocketState.closed;
      this.onclose?.({ code, reason: 'gone' });
    },
  };
  return socket;
}

function recorder(name: string, log: string[]): ConnectionConsumer {
  return {
    binary: (frame) => log.push(`${name} binary ${frame.length}`),
    message: (message) => log.push(`${name} message ${message.type}`),
    closed: (code) => log.push(`${name} closed ${code}`),
  };
}

async function opened(consumer?: ConnectionConsumer) {
  const socket = fakeSocket();
  const connection = new Connection({ brokerUrl: 'http://node', socketFactory: () => socket }, consumer);
  const welcome = connection.open();
  socket.hear(JSON.stringify({ type: 'welcome', protocol: 1, node: 'n', user: null, heartbeatMs: 1000 }));
  await welcome;
  return { socket, connection };
}

describe('a connection’s consumer', () => {
  it('is the one passed to the constructor until another is bound', async () => {
    const log: string[] = [];
    const { socket, connection } = await opened(recorder('first', log));
    socket.hear(new Uint8Array(3));
    connection.bind(recorder('second', log));
    socket.hear(new Uint8Array(5));
    socket.hear(JSON.stringify({ type: 'session.detached', sessionId: 's', message: 'elsewhere' }));
    socket.drop(4000);
    expect(log).toEqual(['first binary 3', 'second binary 5', 'second message session.detached', 'second closed 4000']);
  });

  it('hears nothing once unbound, and an unbind of a replaced consumer leaves the new one bound', async () => {
    const log: string[] = [];
    const { socket, connection } = await opened();
    socket.hear(new Uint8Array(1)); // nobody bound: dropped
    const unbindFirst = connection.bind(recorder('first', log));
    const unbindSecond = connection.bind(recorder('second', log));
    unbindFirst();
    socket.hear(new Uint8Array(2));
    unbindSecond();
    socket.hear(new Uint8Array(4));
    socket.drop(1006);
    expect(log).toEqual(['second binary 2']);
  });

  it('passes over a message of a type it does not know (a newer node’s), and still refuses a known one that is malformed', async () => {
    const log: string[] = [];
    const closes: number[] = [];
    const { socket } = await opened(recorder('first', log));
    socket.close = (code?: number) => void closes.push(code ?? 0);
    socket.hear(JSON.stringify({ type: 'session.somethingNew', sessionId: 's' }));
    socket.hear(JSON.stringify({ type: 'session.detached', sessionId: 's', message: 'elsewhere' }));
    expect(log).toEqual(['first message session.detached']);
    expect(closes).toEqual([]);
    socket.hear(JSON.stringify({ type: 'session.detached', sessionId: 7 }));
    expect(closes).toEqual([1007]);
  });
});
