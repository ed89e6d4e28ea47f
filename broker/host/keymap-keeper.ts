// Room in the display's keymap for every character a person types (issue 26, point 3).
//
// The web client sends each key as the character typed (renderer rfb-keys.ts), and text
// from input methods as one key per character. Xvnc types a character its US keymap
// lacks — ü, €, 日 — by putting it on a spare key code. TigerVNC 1.12 has 19 spare key
// codes and never frees one: after 19 different such characters, every new one is
// dropped ("Failure adding new keysym", the failure KasmVNC users meet with Chinese
// input methods). A Japanese or Chinese writer passes 19 in a sentence.
//
// So a small X client in the sandbox keeps the keymap roomy:
//   - at start, before the app, it empties the key codes that hold only media and
//     vendor keys (volume, browser, launch keys: XF86 and Sun keysyms) — no pane ever
//     sends those, they are named keys the pane leaves to the browser — which makes
//     about 116 spare key codes;
//   - whenever Xvnc has filled the spare ones down to LOW, it empties those pressed
//     least recently, and only ones not pressed for QUIET seconds and not held now. It
//     learns when each key was pressed from XInput 2's raw key events. The quiet time is
//     the safety: an app looks a key code up when it handles the key, and a key code
//     emptied under a key press it has not handled yet would type nothing.
//
// It also works around a TigerVNC 1.12 bug met on the way: the display's very first key
// event, if it needs a character put on a spare key, types nothing (the server's first
// key event switches its keyboard device, and the keymap change is lost with it). The
// keeper presses and releases Shift once through the display's own RFB socket before
// the app starts, so the first key a person types is never that first event.
//
// It is Python from the standard library, like the window-title watcher, started by the
// display's launcher before the window manager and the app (sandbox.ts RFB_LAUNCH), off
// the lockstep clock, at a fixed point of the start: every replica's app gets the same X
// client slot, and the same keymap to begin with. Which spare key code a character lands
// on later depends on timing and may differ between replicas; the characters do not.
// Without python3 on the host the keymap stays Xvnc's; nothing else changes.

import { X11_CLIENT_PY } from './x11-client-script.js';

/** Where the launcher finds the keeper's script, inside the sandbox. */
export const KEYMAP_SCRIPT_PATH = '/run/holdfast-keymap.py';
/** Made in the display directory once the keymap has room and the display's first key event is behind it. */
export const KEYMAP_READY = 'keymap-ready';
/** Spare key codes the keeper keeps free (it frees down to twice this many). */
export const KEYMAP_LOW = 32;
/** Seconds a key must have been left unpressed before its key code is emptied. */
export const KEYMAP_QUIET_S = 1;

/** The keeper: `python3 -I -S KEYMAP_SCRIPT_PATH X_SOCKET RFB_SOCKET READY_FILE`. */
export const KEYMAP_SCRIPT = `import select, sys, time
${X11_CLIENT_PY}
LOW = ${KEYMAP_LOW}
QUIET = ${KEYMAP_QUIET_S}

def prime(path):
    # The display's first key event, from its own RFB side: a Shift press and release.
    s, _, read = connection(path)
    read(12)
    s.sendall(b'RFB 003.008\\n')
    n = read(1)[0]
    if 1 not in read(n): return
    s.sendall(b'\\x01')
    if read(4) != b'\\0\\0\\0\\0': return
    s.sendall(b'\\x01')
    head = read(24)
    read(struct.unpack_from('>I', head, 20)[0])
    s.sendall(struct.pack('>BBxxI', 4, 1, 0xffe1) + struct.pack('>BBxxI', 4, 0, 0xffe1))
    # An update request is answered after the keys before it were handled.
    s.sendall(struct.pack('>BBHHHH', 3, 0, 0, 0, 1, 1))
    read(1)
    s.close()

def main(x11_path, rfb, ready):
    client = x11(x11_path)
    if client is None: return
    s, buf, read, body, root, events, request, packet = client
    first, last = body[26], body[27]
    def mapping(lo, hi):
        # GetKeyboardMapping: each key code's keysyms.
        r = request(struct.pack('<BxHBBxx', 101, 2, lo, hi - lo + 1))
        per = r[1]
        syms = struct.unpack_from('<%dI' % ((hi - lo + 1) * per), r, 32)
        return {lo + i: tuple(k for k in syms[i * per:(i + 1) * per] if k) for i in range(hi - lo + 1)}, per
    keys, per = mapping(first, last)
    blank = struct.pack('<%dI' % per, *([0] * per))
    def empty(k):
        # ChangeKeyboardMapping: no keysym on key code k; Xvnc counts it spare again.
        request(struct.pack('<BBHBBxx', 100, 1, 2 + per, k, per) + blank, reply=False)
        keys[k] = ()
    pool = [k for k, syms in keys.items() if all((x >> 16) in (0x1008, 0x1005) for x in syms)]
    for k in pool:
        if keys[k]: empty(k)
    pool = set(pool)
    request(struct.pack('<BxH', 43, 1))  # GetInputFocus: a round trip, so the keymap has changed before the app starts
    # XInput 2: raw key presses of every keyboard, whoever has the focus.
    name = b'XInputExtension'
    r = request(struct.pack('<BxHHxx', 98, 2 + (len(name) + 3) // 4, len(name)) + name + b'\\0' * (-len(name) % 4))
    xi = r[9] if r and r[8] else 0
    if xi:
        request(struct.pack('<BBHHH', xi, 47, 2, 2, 0))
        request(struct.pack('<BBHIHxxHHI', xi, 46, 5, root, 1, 1, 1, 1 << 13), reply=False)  # XI_RawKeyPress
    try:
        prime(rfb)
    except (EOFError, OSError):
        pass
    open(ready, 'w').close()
    pressed = {}
    def held():
        r = request(struct.pack('<BxH', 44, 1))  # QueryKeymap
        return {k for k in range(256) if r[8 + k // 8] >> (k % 8) & 1}
    def tidy():
        # Returns when to look again (spare key codes are short and none could be freed yet), or None.
        used = [k for k in pool if keys[k]]
        spare = len(pool) - len(used)
        if spare >= LOW: return None
        now = time.monotonic()
        down = held()
        quiet = sorted((pressed.get(k, 0), k) for k in used if k not in down and now - pressed.get(k, 0) >= QUIET)
        for _, k in quiet[:2 * LOW - spare]: empty(k)
        return None if spare + len(quiet) >= LOW else now + QUIET
    again = None
    while True:
        while not events:
            wait = None if again is None else max(0, again - time.monotonic())
            if not buf and not select.select([s], [], [], wait)[0]:
                again = tidy()
                continue
            events.append(packet())
        p = events.pop(0)
        kind = p[0] & 0x7f
        if kind == 34 and p[4] == 1:  # MappingNotify, keyboard: Xvnc put a character on a key code (or we emptied one)
            lo, n = p[5], p[6]
            now = time.monotonic()
            got, _ = mapping(lo, lo + n - 1)
            for k, syms in got.items():
                if k in pool and syms and not keys[k]: pressed[k] = now
                keys[k] = syms
            again = tidy()
        elif kind == 35 and p[1] == xi and struct.unpack_from('<H', p, 8)[0] == 13:
            pressed[struct.unpack_from('<I', p, 16)[0]] = time.monotonic()

try:
    main(sys.argv[1], sys.argv[2], sys.argv[3])
except (EOFError, OSError):
    pass
`;
