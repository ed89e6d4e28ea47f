// The floor of part 13 (files.ts): a bare WebSocket transfer of the same bytes over
// loopback — a `ws` server in a Node process of its own (as the broker node is) and a
// `ws` client in the bench's process, no compression, 64 KiB messages, each direction
// acknowledged at the end. Up: the client sends every message, then "end"; the server
// answers with the bytes it counted. Down: the client asks ("down"); the server sends
// every message, then "end"; the client counts them and says "ok". Both sides keep at
// most a few MiB unsent (they wait for the socket as it drains), as the node does.
// Beside it, for the download only, a reference rather than the floor: a bare node:http
// server in the same process answering a GET with the same bytes from memory in 64 KiB
// writes, fetched with the client Holdfast's download is (files-transfer.ts getTimed) —
// how much of the distance to the floor is HTTP's own.
import { spawn } from 'node:child_process';
import { WebSocket } from 'ws';
import { getTimed, type Transfer } from './files-transfer.js';
import { track, untrack } from './processes.js';
import { paths } from './settings.js';
import { nowNs, withTimeout } from './timing.js';

export const FLOOR_MESSAGE_BYTES = 64 * 1024;
/** Bytes a sender lets queue in its socket before it waits for some to drain. */
const HIGH_WATER = 4 * 1024 * 1024;

// The server, run with `node -e` in the repository (its node_modules has `ws`); argv[1] is the file to send down.
const SERVER_JS = `const { WebSocketServer } = require('ws');
const data = require('fs').readFileSync(process.argv[1]);
const MESSAGE = ${FLOOR_MESSAGE_BYTES}, HIGH = ${HIGH_WATER};
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1 << 20 });
const http = require('http').createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length });
  let o = 0;
  const pump = () => {
    while (o < data.length) {
      const more = res.write(data.subarray(o, o + MESSAGE));
      o += MESSAGE;
      if (!more) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
wss.on('listening', () => http.listen(0, '127.0.0.1', () => process.stdout.write('port ' + wss.address().port + ' http ' + http.address().port + '\\n')));
wss.on('connection', (ws) => {
  let got = 0;
  ws.on('message', async (m, isBinary) => {
    if (isBinary) { got += m.length; return; }
    const what = m.toString();
    if (what === 'end') { ws.send(String(got)); got = 0; return; }
    if (what !== 'down') return;
    for (let o = 0; o < data.length; o += MESSAGE) {
      const piece = data.subarray(o, o + MESSAGE);
      if (ws.bufferedAmount > HIGH) await new Promise((resolve) => ws.send(piece, resolve));
      else ws.send(piece);
    }
    ws.send('end');
  });
});`;

/**
 * Sends `data` in 64 KiB binary messages, waiting for the socket whenever more than
 * HIGH_WATER is queued, and letting other I/O run every MiB: a loopback socket takes
 * writes as fast as they come, and this process's other sockets (the sessions' pings)
 * must not wait for the whole file.
 */
async function sendAll(ws: WebSocket, data: Buffer): Promise<void> {
  for (let o = 0, i = 1; o < data.length; o += FLOOR_MESSAGE_BYTES, i++) {
    const piece = data.subarray(o, o + FLOOR_MESSAGE_BYTES);
    if (ws.bufferedAmount > HIGH_WATER) await new Promise<void>((resolve, reject) => ws.send(piece, (error) => (error ? reject(error) : resolve())));
    else ws.send(piece);
    if (i % 16 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export interface FloorTransfer {
  bytes: number;
  seconds: number;
  MBs: number;
  bytesOk: boolean;
}

const result = (bytes: number, expected: number, t0: bigint): FloorTransfer => {
  const seconds = Number(nowNs() - t0) / 1e9;
  return { bytes, seconds: Math.round(seconds * 1000) / 1000, MBs: Math.round((bytes / 2 ** 20 / seconds) * 10) / 10, bytesOk: bytes === expected };
};

export interface Floor {
  pid: number;
  /** The bytes to the server, timed from the first message to its count. */
  up(data: Buffer): Promise<FloorTransfer>;
  /** The server's bytes (the file it was given) to this process, timed from the ask to the end; `keep` gets every message. */
  down(expected: number, keep?: (chunk: Buffer) => void): Promise<FloorTransfer>;
  /** The same bytes as a bare node:http GET (the download's reference, not its floor). */
  httpDown(expectedSha: string, expectedBytes: number): Promise<Transfer>;
  stop(): Promise<void>;
}

/** Starts the floor's server (sending `file` down) and connects to it. */
export async function startFloor(file: string): Promise<Floor> {
  const child = spawn(process.execPath, ['-e', SERVER_JS, file], { cwd: paths.root, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = child.pid!;
  track(pid, 'floor:ws', (signal) => child.kill(signal));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => untrack(pid));
  const [port, httpPort] = await withTimeout(
    new Promise<[number, number]>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /port (\d+) http (\d+)/.exec(out);
        if (m) resolve([Number(m[1]), Number(m[2])]);
      });
      void exited.then(() => reject(new Error('the floor server exited before listening')));
    }),
    20_000,
    'the floor server to listen',
  );
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: 1 << 20 });
  await withTimeout(new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject))), 10_000, 'the floor connection');
  let onBinary: ((chunk: Buffer) => void) | null = null;
  let onText: ((text: string) => void) | null = null;
  ws.on('message', (m, isBinary) => {
    const buf = m as Buffer;
    if (isBinary) onBinary?.(buf);
    else onText?.(buf.toString());
  });
  const text = () => new Promise<string>((resolve) => (onText = resolve));
  return {
    pid,
    async up(data) {
      const answer = text();
      const t0 = nowNs();
      await sendAll(ws, data);
      ws.send('end');
      const got = Number(await withTimeout(answer, 120_000, 'the floor server\'s count'));
      return result(got, data.length, t0);
    },
    async down(expected, keep) {
      let got = 0;
      onBinary = (chunk) => {
        got += chunk.length;
        keep?.(chunk);
      };
      const end = text();
      const t0 = nowNs();
      ws.send('down');
      await withTimeout(end, 120_000, 'the floor server\'s end');
      const r = result(got, expected, t0);
      ws.send('ok');
      onBinary = null;
      return r;
    },
    httpDown(expectedSha, expectedBytes) {
      return getTimed(`http://127.0.0.1:${httpPort}/`, {}, expectedSha, expectedBytes, { floor: pid }, 'the bare HTTP download');
    },
    async stop() {
      ws.terminate();
      child.kill('SIGTERM');
      await withTimeout(exited, 5000, 'the floor server to exit').catch(() => child.kill('SIGKILL'));
    },
  };
}
