import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CloseCode, ErrorCode, encodeInput } from '../../shared/protocol/index.js';
import { Catalog } from '../catalog.js';
import { NodeConfig } from '../config/schema.js';
import { silentLogger } from '../log.js';
import { ClientConnection } from './client-connection.js';
import type { NodeContext, SessionPeer } from './context.js';

const hash = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';

/** What the connection uses of a ws WebSocket; messages are delivered as ws delivers them. */
class FakeSocket extends EventEmitter {
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSED = 3;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: unknown[] = [];
  readonly binary: Uint8Array[] = [];
  closedWith: { code: number; reason: string } | null = null;
  send(data: string | Uint8Array): void {
    if (typeof data === 'string') this.sent.push(JSON.parse(data));
    else this.binary.push(data);
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
    this.readyState = this.CLOSED;
    this.emit('close');
  }
  text(message: unknown): void {
    this.emit('message', Buffer.from(typeof message === 'string' ? message : JSON.stringify(message)), false);
  }
  frame(bytes: Uint8Array): void {
    this.emit('message', Buffer.from(bytes), true);
  }
}

function setup(options: { user?: string | null; limits?: Record<string, number> } = {}) {
  const config = NodeConfig.parse({
    node: { limits: options.limits ?? {} },
    users: [{ name: 'ann', passwordHash: hash }],
    apps: [{ id: 'shell', name: 'Shell', command: '/bin/bash' }],
    entitlements: [{ users: ['ann'], apps: ['shell'] }],
  });
  const calls: string[] = [];
  const session = {
    id: 's1',
    app: { id: 'shell', name: 'Shell', display: 'terminal' },
    owner: 'ann',
    resumeToken: 'token',
    endMessage: null,
    attach: (_peer: SessionPeer) => {},
    detach: () => {},
    startHold: () => {},
    resize: (cols: number, rows: number) => void calls.push(`resize ${cols}x${rows}`),
    input: (seq: number) => (calls.push(`input ${seq}`), null),
    end: () => {},
    viewer: () => null,
    outputAck: () => null,
  };
  const sessions = {
    self: 'n1',
    clustered: false,
    brokerUrls: () => [],
    summaries: async () => [],
    launch: vi.fn(async () => session),
    noteAttachment: async () => {},
  };
  const observe = () => {};
  const ctx = {
    config,
    catalog: new Catalog(config),
    connections: new Set(),
    sessions,
    log: silentLogger,
    audit: { record: vi.fn(), close: () => {} },
    metrics: { echo: { labels: () => ({ observe }) }, streamBytes: { labels: () => ({ observe }) }, launches: { inc: () => {} } },
  } as unknown as NodeContext;
  const ws = new FakeSocket();
  const connection = new ClientConnection(ws as never, ctx, '203.0.113.7', options.user ?? null);
  return { ws, ctx, connection, calls, sessions };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => {
  vi.useRealTimers();
});

describe('client connection', () => {
  it('says welcome, and counts itself among the node’s connections until it closes', () => {
    const { ws, ctx, connection } = setup();
    expect(ws.sent[0]).toMatchObject({ type: 'welcome', node: ctx.config.node.name, user: null, brokers: [] });
    expect(ctx.connections.has(connection)).toBe(true);
    ws.close(CloseCode.normal, 'bye');
    expect(ctx.connections.has(connection)).toBe(false);
  });

  it('answers a request that needs a sign-in with unauthenticated, and closes', () => {
    const { ws } = setup();
    ws.text({ type: 'apps.list', id: 7 });
    expect(ws.sent.at(-1)).toMatchObject({ type: 'error', id: 7, code: ErrorCode.unauthenticated });
    expect(ws.closedWith?.code).toBe(CloseCode.unauthenticated);
  });

  it('serves a signed-in person', () => {
    const { ws } = setup({ user: 'ann' });
    ws.text({ type: 'apps.list', id: 8 });
    expect(ws.sent.at(-1)).toMatchObject({ type: 'apps.list.ok', id: 8, apps: [{ id: 'shell' }] });
    expect(ws.closedWith).toBeNull();
  });

  it('answers malformed JSON with bad_request and closes with protocolError', () => {
    const { ws } = setup({ user: 'ann' });
    ws.text('{"type": "ping", "id": 3');
    expect(ws.sent.at(-1)).toMatchObject({ type: 'error', code: ErrorCode.badRequest });
    expect(ws.closedWith?.code).toBe(CloseCode.protocolError);
  });

  it('answers a known request with a bad value with bad_request, and keeps the connection (a stream must not die for it)', () => {
    const { ws } = setup({ user: 'ann' });
    ws.text({ type: 'session.resize', cols: 0, rows: 24 });
    ws.text({ type: 'apps.list', id: 'seven' });
    expect(ws.sent.at(-2)).toMatchObject({ type: 'error', id: null, code: ErrorCode.badRequest });
    expect(ws.sent.at(-1)).toMatchObject({ type: 'error', code: ErrorCode.badRequest });
    expect(ws.closedWith).toBeNull();
    ws.text({ type: 'ping', id: 9 });
    expect(ws.sent.at(-1)).toMatchObject({ type: 'pong', id: 9 });
    // Something that is not a message at all still closes it.
    ws.text({ type: 'bogus', id: 10 });
    expect(ws.sent.at(-1)).toMatchObject({ type: 'error', id: 10, code: ErrorCode.badRequest });
    expect(ws.closedWith?.code).toBe(CloseCode.protocolError);
  });

  it('refuses, unparsed, a frame nested deeper than any message, and before sign-in a large or hurried one', () => {
    const deep = setup({ user: 'ann' });
    deep.ws.text('{"type":"ping","id":1,"x":' + '['.repeat(20) + ']'.repeat(20) + '}');
    expect(deep.ws.sent.at(-1)).toMatchObject({ type: 'error', code: ErrorCode.badRequest, message: 'This connection sent a frame nested deeper than 8 and was closed.' });
    expect(deep.ws.closedWith?.code).toBe(CloseCode.protocolError);
    const large = setup();
    large.ws.text({ type: 'ping', id: 1, pad: 'x'.repeat(9000) });
    expect(large.ws.sent.at(-1)).toMatchObject({ type: 'error', code: ErrorCode.rateLimited, message: 'This connection sent a frame over 8 KB before signing in and was closed.' });
    expect(large.ws.closedWith?.code).toBe(CloseCode.tooBig);
    const hurried = setup();
    for (let id = 1; id <= 10; id++) hurried.ws.text({ type: 'ping', id });
    expect(hurried.ws.closedWith).toBeNull();
    hurried.ws.text({ type: 'ping', id: 11 });
    expect(hurried.ws.closedWith?.code).toBe(CloseCode.policyViolation);
    // Signed in, the same large frame is fine.
    const signedIn = setup({ user: 'ann' });
    signedIn.ws.text({ type: 'ping', id: 1, pad: 'x'.repeat(9000) });
    expect(signedIn.ws.sent.at(-1)).toMatchObject({ type: 'pong', id: 1 });
  });

  it('closes a connection over its request rate with rateLimited, and reads nothing after', () => {
    const { ws } = setup({ user: 'ann', limits: { requestsPerSecond: 1, requestBurst: 3 } });
    for (let id = 1; id <= 3; id++) ws.text({ type: 'ping', id });
    expect(ws.sent.filter((m) => (m as { type: string }).type === 'pong')).toHaveLength(3);
    ws.text({ type: 'ping', id: 4 });
    expect(ws.sent.at(-1)).toMatchObject({ type: 'error', id: null, code: ErrorCode.rateLimited });
    expect(ws.closedWith?.code).toBe(CloseCode.policyViolation);
    const answers = ws.sent.length;
    ws.text({ type: 'ping', id: 5 });
    expect(ws.sent).toHaveLength(answers);
  });

  it('closes a connection that does not sign in within 10 s', () => {
    vi.useFakeTimers();
    const { ws } = setup();
    vi.advanceTimersByTime(9_999);
    expect(ws.closedWith).toBeNull();
    vi.advanceTimersByTime(1);
    expect(ws.closedWith?.code).toBe(CloseCode.authTimeout);
  });

  it('applies a resize before the keystrokes that follow it', async () => {
    const { ws, calls } = setup({ user: 'ann' });
    ws.text({ type: 'session.launch', id: 1, appId: 'shell', cols: 80, rows: 24 });
    await settle();
    expect(ws.sent.at(-1)).toMatchObject({ type: 'session.started', id: 1, sessionId: 's1' });
    ws.text({ type: 'session.resize', cols: 100, rows: 30 });
    ws.frame(encodeInput(1, new Uint8Array([97])));
    ws.text({ type: 'session.resize', cols: 120, rows: 40 });
    ws.frame(encodeInput(2, new Uint8Array([98])));
    expect(calls).toEqual(['resize 100x30', 'input 1', 'resize 120x40', 'input 2']);
  });
});
