// Worker thread that keeps one headless xterm.js per session: the screen a resuming
// client is given as a snapshot. Parsing terminal output costs about as much as
// moving it, so it runs beside the gateway's thread instead of on it.
// Plain JavaScript so the same file runs from source (tests) and from dist/.
import { parentPort } from 'node:worker_threads';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { createHash } from 'node:crypto';
import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';

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

/**
 * Replies to a snapshot or hash request with `produce(screen)`, computed after every
 * byte written so far: the write queue runs in order, so an empty write's callback
 * comes after every chunk sent before this request has been parsed.
 */
function answer(message, produce) {
  const screen = screens.get(message.id);
  if (!screen) {
    parentPort.postMessage({ op: 'snapshot', request: message.request, data: null });
    return;
  }
  screen.terminal.write('', () => {
    parentPort.postMessage({ op: 'snapshot', request: message.request, data: produce(screen), cols: screen.terminal.cols, rows: screen.terminal.rows });
  });
}

parentPort.on('message', (message) => {
  switch (message.op) {
    case 'open': {
      const terminal = new Terminal({ cols: message.cols, rows: message.rows, scrollback: message.scrollback, allowProposedApi: true });
      const serializer = new SerializeAddon();
      terminal.loadAddon(serializer);
      screens.set(message.id, { terminal, serializer });
      break;
    }
    case 'write': {
      const screen = screens.get(message.id);
      const bytes = message.data.byteLength;
      if (!screen) break;
      // Report progress once xterm has parsed the chunk, so the host can bound the backlog.
      screen.terminal.write(new Uint8Array(message.data), () => parentPort.postMessage({ op: 'written', id: message.id, bytes }));
      break;
    }
    case 'resize':
      screens.get(message.id)?.terminal.resize(message.cols, message.rows);
      break;
    case 'snapshot':
      answer(message, (screen) => screen.serializer.serialize({ scrollback: message.scrollback }));
      break;
    case 'hash':
      // What replicas compare: the visible screen's text and the cursor (scrollback
      // and colours are left out).
      answer(message, (screen) => {
        const buffer = screen.terminal.buffer.active;
        const hash = createHash('sha256');
        for (let y = 0; y < screen.terminal.rows; y++) hash.update((buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? '') + '\n');
        hash.update(`${buffer.cursorX},${buffer.cursorY},${screen.terminal.cols}x${screen.terminal.rows}`);
        return hash.digest('hex').slice(0, 32);
      });
      break;
    case 'close':
      screens.get(message.id)?.terminal.dispose();
      screens.delete(message.id);
      break;
  }
});
