// The two paths to one display: a GUI app launched as a Holdfast session (its viewer on
// the session's WebSocket) and Debian's websockify started on the same Xvnc's socket
// (the reference noVNC talks to), each viewer handshaken and given a whole frame.
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { encodeRfb } from '../shared/protocol/frames.js';
import { freePort } from '../support/etcd.js';
import { childrenOf } from './proc.js';
import { Viewer, fullFrame } from './rfb-viewer.js';
import { sleep } from './timing.js';

/** A launched GUI session on the bench's protocol client (protocol-client.ts, ProtoSession). */
export interface HoldfastRfbSession {
  sessionId: string;
  /** Where the server's bytes (OUTPUT payloads) go. */
  onOutput(receiver: (data: Uint8Array) => void): void;
  /** One numbered INPUT frame holding `bytes`. */
  input(bytes: Uint8Array): void;
  /** Sends a whole binary frame. */
  sendFrame(frame: Uint8Array): void;
  /** What went wrong on the connection so far (error messages, unexpected frames). */
  problems(): string[];
  close(): Promise<unknown>;
}

/** What setting up the two paths needs (part of RfbOptions, rfb.ts). */
export interface PairSetup {
  launch(appId: string): Promise<HoldfastRfbSession>;
  /** The node's stateDir: rfb sockets are at <stateDir>/sandboxes/<id>/display/rfb.sock. */
  stateDir: string;
  websockify?: string;
  /** The broker node's pid: its CPU time is the holdfast relay's cost (websockify's is the reference's). */
  nodePid?: number;
  /** The bench's process bookkeeping, so an interrupted run still ends websockify. */
  track?(pid: number, label: string, kill: (signal: NodeJS.Signals) => void): void;
  untrack?(pid: number): void;
  /** Where the reference viewer connects for websockify's `port` (gui-networks: a shaping proxy in front of it); default: straight to it. */
  referenceVia?(port: number): Promise<number>;
}

function holdfastViewer(session: HoldfastRfbSession, continuous: boolean): Viewer {
  const viewer = new Viewer(
    'holdfast',
    {
      viewer: (bytes) => session.sendFrame(encodeRfb(bytes)),
      input: (bytes) => session.input(bytes),
    },
    continuous,
  );
  session.onOutput((data) => viewer.received(data));
  return viewer;
}

interface Reference {
  viewer: Viewer;
  ws: WebSocket;
  websockify: ChildProcess;
  /** websockify and the handler it forked for our connection. */
  pids(): number[];
  stderr: () => string;
  close(): Promise<void>;
}

async function referenceViewer(socketPath: string, options: PairSetup, continuous: boolean): Promise<Reference> {
  const port = await freePort();
  // Its own process group, so the handler it forks per connection ends with it.
  const child = spawn(options.websockify ?? '/usr/bin/websockify', [`--unix-target=${socketPath}`, `127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const pid = child.pid!;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      /* gone */
    }
  };
  options.track?.(pid, 'websockify', killGroup);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4096)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let exitedNow = false;
  void exited.then(() => (exitedNow = true));
  const stop = async () => {
    killGroup('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    killGroup('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
    options.untrack?.(pid);
  };
  try {
    const deadline = performance.now() + 10_000;
    // websockify listening first, then (where shaped) the proxy in front of it: the
    // proxy is never asked to reach a port nobody listens on yet.
    while (!(await accepts(port))) {
      if (exitedNow) throw new Error(`websockify exited: ${stderr.trim().split('\n').at(-1) ?? ''}`);
      if (performance.now() > deadline) throw new Error(`websockify did not listen within 10 s: ${stderr.trim().split('\n').at(-1) ?? ''}`);
      await sleep(50);
    }
    const via = options.referenceVia ? options.referenceVia(port) : Promise.resolve(port);
    let ws: WebSocket | null = null;
    while (!ws) {
      if (exitedNow) throw new Error(`websockify exited: ${stderr.trim().split('\n').at(-1) ?? ''}`);
      if (performance.now() > deadline) throw new Error(`websockify did not listen within 10 s: ${stderr.trim().split('\n').at(-1) ?? ''}`);
      const attempt = new WebSocket(`ws://127.0.0.1:${await via}/`, ['binary'], { perMessageDeflate: false, maxPayload: 64 << 20 });
      attempt.binaryType = 'nodebuffer';
      const ok = await new Promise<boolean>((resolve) => {
        attempt.once('open', () => resolve(true));
        attempt.once('error', () => resolve(false));
      });
      if (ok) ws = attempt;
      else {
        attempt.terminate();
        await sleep(50);
      }
    }
    const socket = ws;
    const send = (bytes: Uint8Array) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(bytes);
    };
    const viewer = new Viewer('reference', { viewer: send, input: send }, continuous);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) viewer.received(data);
      else viewer.fail(new Error('websockify sent a text frame'));
    });
    socket.on('close', () => viewer.fail(new Error('the websockify connection closed')));
    socket.on('error', (error) => viewer.fail(error));
    return {
      viewer,
      ws: socket,
      websockify: child,
      pids: () => [pid, ...childrenOf(pid)],
      stderr: () => stderr,
      async close() {
        if (socket.readyState === WebSocket.OPEN) socket.close(1000);
        await Promise.race([new Promise((resolve) => socket.once('close', resolve)), sleep(2000)]);
        socket.terminate();
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection({ host: '127.0.0.1', port });
    probe.once('connect', () => (probe.destroy(), resolve(true)));
    probe.once('error', () => resolve(false));
  });
}

/** Waits until the display answers a connection of its own with its RFB version (bounded): it has started serving. */
async function displayAnswers(socketPath: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const answered = await new Promise<boolean>((resolve) => {
      const probe = createConnection(socketPath);
      const timer = setTimeout(() => (probe.destroy(), resolve(false)), 1000);
      probe.once('data', () => (clearTimeout(timer), probe.destroy(), resolve(true)));
      probe.once('error', () => (clearTimeout(timer), resolve(false)));
    });
    if (answered) return;
    if (performance.now() > deadline) throw new Error(`the display at ${socketPath} did not answer within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

function rfbSockets(stateDir: string): Set<string> {
  const dir = join(stateDir, 'sandboxes');
  const out = new Set<string>();
  if (!existsSync(dir)) return out;
  for (const id of readdirSync(dir)) {
    const path = join(dir, id, 'display', 'rfb.sock');
    if (existsSync(path)) out.add(path);
  }
  return out;
}

export interface Pair {
  holdfast: Viewer;
  reference: Viewer;
  /** The processes relaying each path (broker node / websockify), for their CPU time. */
  relayPids: { holdfast: () => number[]; reference: () => number[] };
  socketPath: string;
  /** Reference connections that carried nothing and were made again. */
  referenceRetries: number;
  geometry: string;
  desktopName: string;
}

/**
 * Launches `appId` as a holdfast session, finds its display's socket, and connects both
 * viewers (`continuous`: viewers that announce fences and continuous updates, as noVNC does).
 */
export async function openPair(appId: string, options: PairSetup, cleanup: Array<() => Promise<unknown>>, continuous = false): Promise<Pair> {
  const before = rfbSockets(options.stateDir);
  const session = await options.launch(appId);
  cleanup.push(() => session.close());
  const holdfast = holdfastViewer(session, continuous);
  let socketPath: string | undefined;
  const deadline = performance.now() + 15_000;
  while (!socketPath) {
    const fresh = [...rfbSockets(options.stateDir)].filter((p) => !before.has(p));
    if (fresh.length > 1) throw new Error(`more than one new rfb socket under ${options.stateDir}: ${fresh.join(', ')}`);
    socketPath = fresh[0];
    if (!socketPath) {
      if (performance.now() > deadline) throw new Error(`no rfb.sock appeared for ${appId} within 15 s (${session.problems().join('; ')})`);
      await sleep(20);
    }
  }
  const ready = (v: Viewer, what: string, ms = 15_000) =>
    Promise.race([v.ready, sleep(ms).then(() => Promise.reject(new Error(`${what}: no RFB handshake within ${ms / 1000} s`)))]);
  // Now and then (through a shaping proxy) websockify's connection carries nothing at all,
  // though Xvnc answers a new connection at once: the reference is connected again then
  // (at most twice; counted), which only helps the reference.
  await displayAnswers(socketPath);
  let reference: Reference | null = null;
  let referenceRetries = 0;
  for (let attempt = 1; !reference; attempt++) {
    const candidate = await referenceViewer(socketPath, options, continuous);
    cleanup.push(() => candidate.close());
    try {
      await ready(candidate.viewer, `reference (${candidate.viewer.messages} messages; websockify: ${candidate.stderr().trim().split('\n').at(-1) ?? ''})`, attempt < 3 ? 8000 : 15_000);
      reference = candidate;
    } catch (error) {
      if (attempt >= 3 || candidate.viewer.messages > 0) throw error;
      referenceRetries += 1;
      await candidate.close();
    }
  }
  const found = reference;
  await ready(holdfast, `holdfast (${session.problems().join('; ')})`);
  // A whole frame for each, one after the other, so nothing is left pending.
  await fullFrame(holdfast);
  await fullFrame(reference.viewer);
  return {
    holdfast,
    reference: reference.viewer,
    relayPids: { holdfast: () => (options.nodePid ? [options.nodePid] : []), reference: () => found.pids() },
    socketPath,
    referenceRetries,
    geometry: `${holdfast.stream.width}x${holdfast.stream.height}`,
    desktopName: holdfast.stream.name,
  };
}
