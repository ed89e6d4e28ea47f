// A GUI app's window title, for its tab (issue 22, point 5: "tab titles carry the app's
// own window title"). RFB has no message for it and Xvnc's desktop name is fixed, so a
// small X client inside the sandbox follows the window the window manager made active
// (_NET_ACTIVE_WINDOW on the root) and that window's _NET_WM_NAME (else WM_NAME), and
// writes the title to a file in the display directory, which the host watches.
//
// It is Python from the standard library (no X library to build or install), started by
// the display's launcher before the app (sandbox.ts RFB_LAUNCH), off the lockstep clock:
// an X client connecting at a fixed point of the start, so every replica's app gets the
// same client slot, and it only reads properties, so the app cannot tell it is there.
// Without python3 on the host there are no GUI titles; nothing else changes.
import { closeSync, constants, fstatSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { X11_CLIENT_PY } from './x11-client-script.js';

/** Where the launcher finds the watcher's script, inside the sandbox. */
export const TITLE_SCRIPT_PATH = '/run/holdfast-title.py';
/** The file the watcher writes in the display directory: the active window's title. */
export const TITLE_FILE = 'title';
/** Longest title kept (characters): a tab shows far fewer. */
export const MAX_TITLE = 200;

/** The watcher: `python3 -I -S TITLE_SCRIPT_PATH /run/holdfast/title`. */
export const TITLE_SCRIPT = `import os, sys
${X11_CLIENT_PY}
MAX = ${MAX_TITLE}

def main(out):
    client = x11('/tmp/.X11-unix/X0')
    if client is None: return
    s, _, read, body, root, events, request, packet = client
    def atom(name):
        n = name.encode()
        r = request(struct.pack('<BBHHxx', 16, 0, 2 + (len(n) + 3) // 4, len(n)) + n + b'\\0' * (-len(n) % 4))
        return struct.unpack_from('<I', r, 8)[0]
    ACTIVE, NAME, WM_NAME = atom('_NET_ACTIVE_WINDOW'), atom('_NET_WM_NAME'), atom('WM_NAME')
    def follow(w):
        # ChangeWindowAttributes: this client hears of property changes on w.
        request(struct.pack('<BxHIII', 2, 4, w, 0x800, 0x400000), reply=False)
    def prop(w, a):
        r = request(struct.pack('<BBHIIIII', 20, 0, 6, w, a, 0, 0, 64))
        if r is None or r[1] == 0: return None
        return r[32:32 + struct.unpack_from('<I', r, 16)[0] * (r[1] // 8)]
    follow(root)
    state = {'window': 0, 'title': None}
    def update():
        v = prop(root, ACTIVE)
        w = struct.unpack_from('<I', v)[0] if v and len(v) >= 4 else 0
        if w and w != state['window']: follow(w)
        state['window'] = w
        name = (prop(w, NAME) or prop(w, WM_NAME) or b'') if w else b''
        title = ''.join(c if c.isprintable() else ' ' for c in name.decode('utf-8', 'replace'))[:MAX]
        if title != state['title']:
            state['title'] = title
            with open(out + '.new', 'w') as t: t.write(title)
            os.replace(out + '.new', out)
    update()
    while True:
        p = events.pop(0) if events else packet()
        if p[0] & 0x7f == 28:  # PropertyNotify
            w, a = struct.unpack_from('<II', p, 4)
            if (w == root and a == ACTIVE) or (w == state['window'] and a in (NAME, WM_NAME)): update()

try:
    main(sys.argv[1])
except (EOFError, OSError):
    pass
`;

/** A title as the host takes it from the sandbox: printable, bounded, trimmed (untrusted). */
export function cleanTitle(raw: string): string {
  return raw.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim().slice(0, MAX_TITLE);
}

/**
 * Watches a display directory for the title file the watcher writes (replaced whole,
 * by rename) and tells each new title once. Stops with the display.
 */
export class WindowTitle {
  private watcher: FSWatcher | null = null;
  private last = '';

  constructor(
    private readonly displayDir: string,
    private readonly onTitle: (title: string) => void,
  ) {
    try {
      this.watcher = watch(displayDir, (_event, name) => {
        if (name === TITLE_FILE) this.read();
      });
      this.watcher.on('error', () => this.close());
    } catch {
      this.watcher = null; // no directory (the display failed to start): no titles
    }
  }

  /** The title now ('' until the app names a window). */
  get title(): string {
    return this.last;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private read(): void {
    const raw = readUntrusted(join(this.displayDir, TITLE_FILE), MAX_TITLE * 4);
    if (raw === null) return;
    const title = cleanTitle(raw);
    if (title === this.last) return;
    this.last = title;
    this.onTitle(title);
  }
}

/**
 * The start of a file the sandbox wrote, or null. The sandbox could have put a link to a
 * host file there, or a FIFO that never answers: a link is not followed, nothing blocks,
 * and only a regular file is read, at most `max` bytes.
 */
export function readUntrusted(path: string, max: number): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null; // not there (between the watcher's write and rename), or a link
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    const buffer = Buffer.alloc(max);
    const n = readSync(fd, buffer, 0, max, 0);
    return buffer.subarray(0, n).toString('utf8');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
