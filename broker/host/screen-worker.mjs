// Worker thread that keeps one headless xterm.js per session: the screen a resuming
// client is given as a snapshot. Parsing terminal output costs more than moving it,
// so it runs beside the gateway's thread instead of on it, and skips what a flood
// scrolls away (screen-digest.mjs).
// Plain JavaScript so the same file runs from source (tests) and from dist/.
import { parentPort } from 'node:worker_threads';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { createHash } from 'node:crypto';
import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import { digest } from './screen-digest.mjs';

const { Terminal } = headless;
const { SerializeAddon } = serialize;
const screens = new Map();

// Keeping screens is background work: on a busy machine the streams to people come
// first, and the worker catches up when there is room (the host bounds its backlog).
// On Linux a thread's priority is set through its thread id.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (tid) setPriority(tid, 10);
} catch {
  /* not Linux, or not allowed: run at normal priority */
}

// Output is gathered per screen and parsed when it stops coming for COALESCE_MS or
// COALESCE_BYTES have piled up: a flood is then parsed in big pieces, and the digest
// skips most of a piece that only scrolls by (screen-digest.mjs). Requests that read
// or change the screen (snapshot, hash, text, resize, close) queue behind the output sent
// before them, so each sees exactly the bytes written so far.
//
// Memory is reused, not allocated per piece: fresh pages cost a fault each, and a
// flood would otherwise touch every byte's page three times (docs/performance.md).
// The host's batches are copied into a pooled gathering buffer and handed back.
const COALESCE_BYTES = 4 * 1024 * 1024;
const COALESCE_MS = 20;
const GATHER_BYTES = COALESCE_BYTES + 512 * 1024;
const FIRST_GATHER_BYTES = 64 * 1024;
const MAX_POOLED = 4;
/** The host's full batch size: only those are worth handing back. */
const SPARE_BYTES = 256 * 1024;
const pool = [];

function gatherInto(screen, bytes) {
  const needed = screen.gatherBytes + bytes.byteLength;
  if (screen.gather && needed > screen.gather.byteLength) {
    if (screen.gather.byteLength < GATHER_BYTES && needed <= GATHER_BYTES) {
      // Typing starts small; output that keeps coming moves to a full-size buffer.
      const grown = pool.pop() ?? Buffer.allocUnsafeSlow(GATHER_BYTES);
      grown.set(screen.gather.subarray(0, screen.gatherBytes));
      screen.gather = grown;
    } else gathered(screen);
  }
  if (!screen.gather) {
    screen.gather = Buffer.allocUnsafeSlow(Math.max(FIRST_GATHER_BYTES, bytes.byteLength));
    screen.gatherBytes = 0;
  }
  screen.gather.set(bytes, screen.gatherBytes);
  screen.gatherBytes += bytes.byteLength;
}

/** Moves the screen's gathered output into its queue as one piece. */
function gathered(screen) {
  clearTimeout(screen.timer);
  screen.timer = undefined;
  if (!screen.gather) return;
  screen.queue.push({ data: screen.gather.subarray(0, screen.gatherBytes), memory: screen.gather });
  screen.gather = null;
  screen.gatherBytes = 0;
}

function enqueue(screen, step) {
  gathered(screen);
  screen.queue.push({ step });
  void pump(screen);
}

async function pump(screen) {
  if (screen.pumping) return;
  screen.pumping = true;
  while (screen.queue.length > 0 && !screen.closed) {
    const item = screen.queue.shift();
    if (item.data) {
      await digest(screen.terminal, item.data, screen.scrollback);
      if (item.memory.byteLength === GATHER_BYTES && pool.length < MAX_POOLED) pool.push(item.memory);
      // Progress once parsed, so the host can bound the backlog.
      parentPort.postMessage({ op: 'written', id: screen.id, bytes: item.data.byteLength });
    } else item.step();
  }
  screen.pumping = false;
  if (screen.closed) screen.terminal.dispose();
}

function reply(message, screen, produce) {
  if (!screen) {
    parentPort.postMessage({ op: 'snapshot', request: message.request, data: null });
    return;
  }
  enqueue(screen, () => parentPort.postMessage({ op: 'snapshot', request: message.request, data: produce(screen), cols: screen.terminal.cols, rows: screen.terminal.rows }));
}

parentPort.on('message', (message) => {
  const screen = screens.get(message.id);
  switch (message.op) {
    case 'open': {
      const terminal = new Terminal({ cols: message.cols, rows: message.rows, scrollback: message.scrollback, allowProposedApi: true, logLevel: 'off' });
      const serializer = new SerializeAddon();
      terminal.loadAddon(serializer);
      screens.set(message.id, { id: message.id, terminal, serializer, scrollback: message.scrollback, gather: null, gatherBytes: 0, timer: undefined, queue: [], pumping: false, closed: false });
      break;
    }
    case 'write': {
      if (screen) gatherInto(screen, new Uint8Array(message.data, 0, message.bytes));
      if (message.data.byteLength >= SPARE_BYTES) parentPort.postMessage({ op: 'spare', memory: message.data }, [message.data]);
      if (!screen) break;
      clearTimeout(screen.timer);
      if (screen.gatherBytes >= COALESCE_BYTES) gathered(screen);
      else screen.timer = setTimeout(() => {
        gathered(screen);
        void pump(screen);
      }, COALESCE_MS);
      void pump(screen);
      break;
    }
    case 'resize':
      if (screen) enqueue(screen, () => screen.terminal.resize(message.cols, message.rows));
      break;
    case 'snapshot':
      reply(message, screen, (s) => s.serializer.serialize({ scrollback: message.scrollback }));
      break;
    case 'hash':
      // What replicas compare: the visible screen's text and the cursor (scrollback
      // and colours are left out).
      reply(message, screen, (s) => {
        const buffer = s.terminal.buffer.active;
        const hash = createHash('sha256');
        // What a person sees: a space an app wrote at the end of a line looks like no
        // cell at all (an app redrawing in other chunks writes one or not), so neither counts.
        for (let y = 0; y < s.terminal.rows; y++) hash.update((buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '').trimEnd() + '\n');
        hash.update(`${buffer.cursorX},${buffer.cursorY},${s.terminal.cols}x${s.terminal.rows}`);
        return hash.digest('hex').slice(0, 32);
      });
      break;
    case 'text':
      // What a thumbnail shows: the visible rows, as hash() reads them.
      reply(message, screen, (s) => {
        const buffer = s.terminal.buffer.active;
        const rows = [];
        for (let y = 0; y < s.terminal.rows; y++) rows.push((buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '').trimEnd());
        return rows.join('\n');
      });
      break;
    case 'close':
      if (!screen) break;
      screens.delete(message.id);
      clearTimeout(screen.timer);
      screen.closed = true;
      screen.queue = [];
      if (!screen.pumping) screen.terminal.dispose();
      break;
  }
});
